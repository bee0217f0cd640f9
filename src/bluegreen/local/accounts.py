"""Where the embedded run's AWS is: moto's default account, one region."""

REGION = "us-east-1"
ACCOUNT = "123456789012"  # moto's default account
