"""LeRobot plugin entry: importing it registers the `so101_mjx` env type (see mjx_lerobot.lerobot.config)."""

from mjx_lerobot.lerobot.config import SO101MjxEnvConfig

__all__ = ["SO101MjxEnvConfig"]
