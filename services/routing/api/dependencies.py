"""What routing's routers are given: its runtime, typed with routing's own settings."""

from typing import Annotated

from fastapi import Depends

from services.routing.settings import RoutingSettings
from services.runtime.http import get_runtime
from services.runtime.service import Runtime

RoutingRuntime = Annotated[Runtime[RoutingSettings], Depends(get_runtime)]
