"""LeRobot integration: the `so101_mjx` env type for `lerobot-eval`, `lerobot-train` and `make_env`.

Importing this module registers `SO101MjxEnvConfig` with LeRobot (lerobot must be installed;
`pip install "mjx-lerobot[lerobot]"`). LeRobot's command-line tools import it for you when
the companion distribution `lerobot_env_so101_mjx` is installed (they import every installed
`lerobot_env_*` distribution), or with `--env.discover_packages_path=mjx_lerobot.lerobot.config`.

    lerobot-eval --env.type=so101_mjx --env.task=LiftCube-v0 --eval.batch_size=256 \\
        --eval.n_episodes=256 --policy.path=...

`create_envs` returns one batched `SO101VectorEnv` per task: all `n_envs` instances step in one
jitted call in this process, so `use_async_envs` starts no workers.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from lerobot.configs import FeatureType, PolicyFeature
from lerobot.envs.configs import EnvConfig
from lerobot.utils.constants import ACTION, OBS_ENV_STATE, OBS_IMAGES, OBS_STATE

from mjx_lerobot.lerobot.gym_env import OBS_TYPES, SO101VectorEnv
from mjx_lerobot.lerobot.gym_ids import task_from_gym_id
from mjx_lerobot.lerobot.hub import make_hub_env
from mjx_lerobot.sim.registry import observation_spec
from mjx_lerobot.sim.scene import CONTROL_HZ


@EnvConfig.register_subclass("so101_mjx")
@dataclass
class SO101MjxEnvConfig(EnvConfig):
    """The simulated SO-101 as a LeRobot env. `task` is a gym id ('LiftCube-v0') or a task name."""

    task: str | None = "LiftCube-v0"
    fps: int = CONTROL_HZ
    episode_length: int | None = None  # control steps; None: the task's own
    obs_type: str = "pixels_agent_pos"
    cameras: str = "front,wrist"
    observation_height: int = 240
    observation_width: int = 320
    render_mode: str = "rgb_array"
    # LeRobot's SO-101 follower units (its default): degrees, gripper 0-100. False: radians.
    use_degrees: bool = True
    # Per arm joint, the simulator angle in degrees that your robot reads as zero.
    calibration: dict[str, float] = field(default_factory=dict)
    impl: str = "auto"  # physics backend: auto | c | warp | jax
    renderer: str = "auto"  # pixels: auto | batched (MuJoCo Warp's ray tracer, in the step) | gl
    # Per-instance physics, colours, lights and cameras at every episode start (default ranges).
    randomize: bool = False
    features: dict[str, PolicyFeature] = field(
        default_factory=lambda: {ACTION: PolicyFeature(type=FeatureType.ACTION, shape=(6,))}
    )
    features_map: dict[str, str] = field(
        default_factory=lambda: {
            ACTION: ACTION,
            "agent_pos": OBS_STATE,
            "environment_state": OBS_ENV_STATE,
        }
    )

    def __post_init__(self):
        if self.obs_type not in OBS_TYPES:
            raise ValueError(f"obs_type must be one of {sorted(OBS_TYPES)}, got {self.obs_type!r}")
        if self.fps != CONTROL_HZ:
            raise ValueError(f"the SO-101 simulation runs at {CONTROL_HZ} Hz; got fps={self.fps}")
        task_from_gym_id(self.task)  # a clear error for an unknown task, before anything is built
        keys = OBS_TYPES[self.obs_type]
        if "agent_pos" in keys:
            self.features["agent_pos"] = PolicyFeature(type=FeatureType.STATE, shape=(6,))
        if "environment_state" in keys:
            dim = observation_spec(task_from_gym_id(self.task)).env_state_dim
            self.features["environment_state"] = PolicyFeature(type=FeatureType.ENV, shape=(dim,))
        if "pixels" in keys:
            for camera in self.camera_names:
                shape = (self.observation_height, self.observation_width, 3)
                self.features[f"pixels/{camera}"] = PolicyFeature(type=FeatureType.VISUAL, shape=shape)
                self.features_map[f"pixels/{camera}"] = f"{OBS_IMAGES}.{camera}"

    @property
    def camera_names(self) -> list[str]:
        return [c.strip() for c in self.cameras.split(",") if c.strip()]

    @property
    def gym_kwargs(self) -> dict:
        return {
            "obs_type": self.obs_type,
            "cameras": self.camera_names,
            "observation_height": self.observation_height,
            "observation_width": self.observation_width,
            "render_mode": self.render_mode,
            "max_episode_steps": self.episode_length,
            "units": "degrees" if self.use_degrees else "radians",
            "calibration": dict(self.calibration) if self.use_degrees else None,
            "impl": self.impl,
            "renderer": self.renderer,
            "randomize": self.randomize,
        }

    def create_envs(self, n_envs: int, use_async_envs: bool = False) -> dict[str, dict[int, SO101VectorEnv]]:
        """{"so101_mjx": {0: one VectorEnv of n_envs instances}}, SAME_STEP autoreset as lerobot-eval expects."""
        return {self.type: {0: make_hub_env(self.task, n_envs, use_async_envs, cfg=self)}}
