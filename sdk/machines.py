"""Machine presets: the Ray resources a run's actor is created with.

The CPU and memory presets are Trigger.dev's; the GPU presets add `num_gpus`.
Any preset can be refined with raw Ray resources through `Machine(...)`.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from tether.errors import ValidationError

_GIB = 1024**3


class Machine(BaseModel):
    """Ray resources for one run. `resources` takes custom Ray resources such as {"TPU": 1}."""

    model_config = ConfigDict(frozen=True)

    name: str = "custom"
    cpus: float = Field(default=0.5, gt=0)
    memory_gb: float = Field(default=0.5, gt=0)
    gpus: float = Field(default=0, ge=0)
    resources: dict[str, float] = Field(default_factory=dict)

    def __hash__(self) -> int:  # `resources` is a dict: hash its items, so a Machine can key a dict
        return hash((self.name, self.cpus, self.memory_gb, self.gpus, tuple(sorted(self.resources.items()))))

    def ray_options(self) -> dict[str, object]:
        options: dict[str, object] = {"num_cpus": self.cpus, "memory": int(self.memory_gb * _GIB)}
        if self.gpus:
            options["num_gpus"] = self.gpus
        if self.resources:
            options["resources"] = dict(self.resources)
        return options


PRESETS: dict[str, Machine] = {
    m.name: m
    for m in (
        Machine(name="micro", cpus=0.25, memory_gb=0.25),
        Machine(name="small-1x", cpus=0.5, memory_gb=0.5),
        Machine(name="small-2x", cpus=1, memory_gb=1),
        Machine(name="medium-1x", cpus=1, memory_gb=2),
        Machine(name="medium-2x", cpus=2, memory_gb=4),
        Machine(name="large-1x", cpus=4, memory_gb=8),
        Machine(name="large-2x", cpus=8, memory_gb=16),
        Machine(name="gpu-1x", cpus=4, memory_gb=16, gpus=1),
        Machine(name="gpu-2x", cpus=8, memory_gb=32, gpus=2),
        Machine(name="gpu-4x", cpus=16, memory_gb=64, gpus=4),
    )
}
DEFAULT_MACHINE = "small-1x"


def resolve_machine(machine: str | Machine | None) -> Machine:
    if machine is None:
        return PRESETS[DEFAULT_MACHINE]
    if isinstance(machine, Machine):
        return machine
    try:
        return PRESETS[machine]
    except KeyError:
        raise ValidationError(f"machine: unknown preset {machine!r}; choose one of {', '.join(PRESETS)}") from None
