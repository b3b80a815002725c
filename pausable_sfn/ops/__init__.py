"""Operations on deployed pausable workflows (boto3), and the operator commands of `pausable-sfn`."""
