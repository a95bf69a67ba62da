from runner.config.models import MODEL_MEMBERS
from runner.registry import Registry

MODELS = Registry(MODEL_MEMBERS.kind)  # a builder for each schema in runner/config/models/
