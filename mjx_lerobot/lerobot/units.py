"""Joint units: the simulator's radians, and the units of LeRobot's real SO-101 follower.

LeRobot's SO-101 follower (`use_degrees=True`, its default) reports and takes positions as

- `shoulder_pan, shoulder_lift, elbow_flex, wrist_flex, wrist_roll`: degrees from the
  calibrated zero, which LeRobot puts at the middle of each joint's recorded range;
- `gripper`: 0-100 over the gripper's range, 0 closed.

The MJCF uses the so101_new_calib kinematics, whose joint zeros sit mid-range, so the default
mapping is plain degrees for the arm. A robot calibrated elsewhere reads an offset: pass
`calibration={"wrist_roll": 3.5, ...}`, the simulator angle in degrees that your robot reports
as zero. The gripper's 0 and 100 are its closed and open joint limits (-10 and 100 degrees).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from mjx_lerobot.sim.scene import JOINTS

UNITS = ("radians", "degrees")
#: LeRobot's feature names for the follower's joints, in order.
MOTOR_NAMES = tuple(f"{joint}.pos" for joint in JOINTS)


class JointUnits:
    """Affine map per joint between radians and a unit system: `units = scale * rad + shift`.

    Works on numpy and jax arrays alike (last axis = the 6 joints).
    """

    def __init__(
        self,
        units: str,
        joint_low: np.ndarray,
        joint_high: np.ndarray,
        calibration: Mapping[str, float] | None = None,
    ):
        if units not in UNITS:
            raise ValueError(f"units must be one of {UNITS}, got {units!r}")
        calibration = dict(calibration or {})
        unknown = set(calibration) - set(JOINTS[:5])
        if unknown:
            raise ValueError(
                f"calibration offsets are for the arm joints {JOINTS[:5]} (degrees); got {sorted(unknown)}"
            )
        if units == "radians" and calibration:
            raise ValueError("calibration offsets apply to units='degrees' only")
        self.units = units
        self.joint_low = np.asarray(joint_low, np.float32)
        self.joint_high = np.asarray(joint_high, np.float32)
        low = np.asarray(joint_low, np.float64)
        high = np.asarray(joint_high, np.float64)
        if units == "radians":
            scale, shift = np.ones(6), np.zeros(6)
        else:
            scale = np.full(6, 180.0 / np.pi)
            shift = -np.array([float(calibration.get(j, 0.0)) for j in JOINTS[:5]] + [0.0])
            # Gripper: closed limit -> 0, open limit -> 100.
            scale[5] = 100.0 / (high[5] - low[5])
            shift[5] = -low[5] * scale[5]
        self.scale = scale.astype(np.float32)
        self.shift = shift.astype(np.float32)
        ends = np.stack([self.from_radians(low), self.from_radians(high)])
        self.low, self.high = ends.min(0).astype(np.float32), ends.max(0).astype(np.float32)

    def from_radians(self, rad):
        return rad * self.scale + self.shift

    def to_radians(self, value):
        return (value - self.shift) / self.scale

    def to_core_action(self, actions: Any, num_envs: int) -> np.ndarray:
        """Joint targets [num_envs, 6] in these units -> the env's [-1, 1] float32 actions, with
        a clear error for a wrong shape or dtype or a non-finite entry."""
        expected = (num_envs, 6)
        try:
            a = np.asarray(actions)
        except Exception as err:  # e.g. ragged lists
            raise ValueError(f"action must be an array of shape {expected}: {err}") from err
        if a.shape != expected:
            raise ValueError(f"action shape: expected {expected} ({self.units}), got {a.shape}")
        if not (np.issubdtype(a.dtype, np.floating) or np.issubdtype(a.dtype, np.integer)):
            raise ValueError(f"action dtype: expected float32, got {a.dtype}")
        a = a.astype(np.float32)
        if not np.isfinite(a).all():
            bad = np.argwhere(~np.isfinite(a))[:5].tolist()
            raise ValueError(f"action has non-finite entries at [instance, joint] {bad}")
        rad = self.to_radians(a)
        return (2.0 * (rad - self.joint_low) / (self.joint_high - self.joint_low) - 1.0).astype(np.float32)

    def __repr__(self) -> str:
        return f"JointUnits({self.units!r}, low={self.low.round(2)}, high={self.high.round(2)})"
