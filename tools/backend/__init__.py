"""A team's Pulumi state on S3 with KMS-encrypted secrets: bootstrapped and checked by
`vos-infra backend bootstrap|check` (boto3, the standard AWS credential chain only)."""
