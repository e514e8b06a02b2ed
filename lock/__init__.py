"""Lock cases: production traces turned into permanent regression cases, and the CI gate that checks them."""
