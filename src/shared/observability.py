"""Logger, Tracer and Metrics singletons shared by every handler.

No AWS client is created here: Powertools reads its own environment variables
(``POWERTOOLS_SERVICE_NAME``, ``POWERTOOLS_METRICS_NAMESPACE``, ``LOG_LEVEL``).
"""

from aws_lambda_powertools import Logger, Metrics, Tracer

SERVICE = "kms-keyguard"
NAMESPACE = "KmsKeyguard"

logger = Logger(service=SERVICE)
tracer = Tracer(service=SERVICE)
metrics = Metrics(service=SERVICE, namespace=NAMESPACE)
