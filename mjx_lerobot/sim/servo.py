"""The SO-101's servo, the Feetech STS3215: its published figures, the MJCF values they give,
and the two things its firmware does that MuJoCo's position actuator does not.

The MJCF's position actuators and joints carry the motor: the actuator force is clipped at the
stall torque, and the joint's damping is the motor's back-EMF, chosen so that a saturated servo
with no load turns at the published no-load speed ((stall torque - friction) / damping). Both
live in `assets/so101.xml`, so every backend simulates the same servo; `tests/test_servo.py`
checks that the file holds what these figures give, and that the physics reaches them.

The firmware's part is applied to the commanded targets before physics, in JAX, identically on
every backend: a goal position is a whole encoder step (4,096 a turn), and a goal within the
dead zone of where the servo is does not drive it (the servo stays where it is).

Not modelled: the position loop's stiffness. MuJoCo Menagerie's kp (998 N m/rad) is kept; a
real STS3215 is far softer (tens of encoder steps of error under ~1 N m, see the servo benchmark).
"""

from __future__ import annotations

import dataclasses
import math

import jax
import jax.numpy as jp

KG_CM = 9.80665e-2  # N m per kg cm


@dataclasses.dataclass(frozen=True)
class ServoFigures:
    """One STS3215 version's published figures and the LeRobot settings that change them."""

    name: str
    stall_torque: float  # N m at the rated voltage
    no_load_speed: float  # rad/s at the rated voltage
    encoder_steps: int  # per turn
    dead_zone_steps: int  # each side of the goal
    frictionloss: float  # N m, the gearbox's dry friction (the joint's frictionloss)
    #: The gripper's share of the stall torque. LeRobot's so101_follower writes
    #: Max_Torque_Limit=500 (of 1000) to it at configure(), i.e. 0.5; the model keeps 1.0
    #: because at 0.5 the box jaws let objects slip out (pick_object's expert falls to 93%).
    gripper_torque_fraction: float
    sources: tuple[str, ...]

    @property
    def damping(self) -> float:
        """The joint damping (N m s/rad) that makes a saturated, unloaded servo turn at its
        no-load speed: the motor's back-EMF seen at the output."""
        return (self.stall_torque - self.frictionloss) / self.no_load_speed

    @property
    def step(self) -> float:
        """One encoder step, radians."""
        return 2.0 * math.pi / self.encoder_steps

    def force_limit(self, joint: str) -> float:
        """The actuator's force limit (N m) on `joint`."""
        return self.stall_torque * (self.gripper_torque_fraction if joint == "gripper" else 1.0)


#: The 7.4 V STS3215 (C001, 1:345 gears) of the standard SO-101 follower kit.
STS3215_7V4 = ServoFigures(
    name="STS3215 7.4 V (C001, 1:345)",
    stall_torque=19.5 * KG_CM,
    no_load_speed=math.radians(60.0) / 0.192,
    encoder_steps=4096,
    dead_zone_steps=1,
    frictionloss=0.052,
    gripper_torque_fraction=1.0,
    sources=(
        "stall 19.5 kg cm and no-load 0.192 s/60 deg at 7.4 V, 12-bit (4,096-step) magnetic "
        "encoder: the ST3215/STS3215 7.4 V product listing (DFRobot SER0069, Waveshare ST3215)",
        "gripper Max_Torque_Limit=500 of 1000, P=16, I=0, D=32 written at configure(): "
        "lerobot/robots/so_follower (lerobot 0.6)",
        "dead zone: registers 26/27, not written by LeRobot; 1 step assumed (factory value unverified)",
        "frictionloss 0.052 N m, armature 0.028 kg m^2: MuJoCo Menagerie's SO-101 servo figures",
    ),
)

#: The 12 V STS3215 (C018, 1:345 gears) some builds use for more torque.
STS3215_12V = dataclasses.replace(
    STS3215_7V4,
    name="STS3215 12 V (C018, 1:345)",
    stall_torque=30.0 * KG_CM,
    no_load_speed=math.radians(60.0) / 0.222,
    sources=(
        "stall 30 kg cm and 45 rpm (0.222 s/60 deg) at 12 V: Feetech's rating of the C018, "
        "measured at 35 kg cm and 46 rpm by Robonine (SO-ARM100 issue 134)",
        *STS3215_7V4.sources[1:],
    ),
)

#: The servo `assets/so101.xml` models.
SERVO = STS3215_7V4


def goal_position(target: jax.Array, servo: ServoFigures = SERVO) -> jax.Array:
    """A joint target as the bus carries it: a whole number of encoder steps."""
    return jp.round(target / servo.step) * servo.step


def firmware(target: jax.Array, position: jax.Array, servo: ServoFigures = SERVO) -> jax.Array:
    """The targets the servos act on, from the commanded `target` and the present `position`
    (radians, per joint): goals snap to encoder steps, and a goal inside the dead zone of
    the present position leaves the servo where it is."""
    goal = goal_position(target, servo)
    present = goal_position(position, servo)
    return jp.where(jp.abs(goal - present) <= servo.dead_zone_steps * servo.step + 1e-7, position, goal)
