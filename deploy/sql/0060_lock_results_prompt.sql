-- The prompt a gate run checked: a lock file may name the prompt template it guards (path + content
-- hash); every lock_results row records the file and the hash it had when the gate ran, so `lock check`
-- can say when the prompt changed since the last run in which the dataset's locks held.
ALTER TABLE lock_results
    ADD COLUMN IF NOT EXISTS `PromptPath` String COMMENT 'Prompt template the lock file guards (path in the repo), if any.',
    ADD COLUMN IF NOT EXISTS `PromptHash` String COMMENT 'sha256:<hex> of that file when the gate ran.';
