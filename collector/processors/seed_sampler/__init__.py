"""seed_sampler components."""
