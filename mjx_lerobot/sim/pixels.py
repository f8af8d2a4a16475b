"""The one camera pipeline: how a policy's images are made, decided once per env.

Two renderers draw the same cameras from the same states:

    batched   MuJoCo Warp's ray tracer inside the jitted step: `Env(cameras=...)` puts
              `obs["pixels"]` in every state it returns (thousands of instances per call)
    gl        MuJoCo's OpenGL renderer on the host, one instance at a time, from the qpos and
              mocap poses (and randomized looks) a state holds

`PixelPipeline.choose` makes the choice ('auto': batched on a GPU, GL on a CPU, where Warp's ray
tracer runs on one thread) and checks the cameras; the Gym adapter, recording, teleoperation
and PPO's pixel policies build their env with `env_kwargs()` and, for GL, draw with
`host_renderer(...)`. Episode videos follow the same rule (sim/render.py).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from mjx_lerobot.sim.camera import CameraConfig, as_camera_names, pixel_renderer
from mjx_lerobot.sim.render import Renderer
from mjx_lerobot.sim.scene import Scene


@dataclasses.dataclass(frozen=True)
class PixelPipeline:
    """Which cameras a policy sees, at what size, and which renderer draws them."""

    renderer: str  # "batched" or "gl" (resolved), or "" without cameras
    cameras: tuple[str, ...]
    height: int
    width: int

    @classmethod
    def choose(
        cls, cameras: str | Sequence[str], height: int, width: int, renderer: str = "auto", impl: str = "auto"
    ) -> PixelPipeline:
        """Resolve `renderer` for `impl` ('auto' as in `pixel_renderer`); no cameras, no renderer."""
        cameras = as_camera_names(cameras)
        chosen = pixel_renderer(renderer, impl) if cameras else ""
        return cls(chosen, cameras, height, width)

    @property
    def batched(self) -> bool:
        return self.renderer == "batched"

    @property
    def on_host(self) -> bool:
        return self.renderer == "gl"

    def env_kwargs(self) -> dict:
        """What `Env` (or `make`) takes so that the batched renderer draws inside its step."""
        return dict(cameras=self.cameras, image_size=(self.height, self.width)) if self.batched else {}

    def check(self, scene: Scene) -> None:
        """A clear error for a camera the scene lacks or a bad size, before anything is drawn."""
        if self.cameras:
            CameraConfig(self.cameras, self.height, self.width).check(scene.mj_model)

    def host_renderer(self, scene: Scene, geom_groups: Sequence[int]) -> Renderer | None:
        """The GL renderer for these images (None when the batched renderer draws them)."""
        if not self.on_host:
            return None
        return Renderer(scene.mj_model, self.height, self.width, tuple(geom_groups), antialias=False)
