"""Gymnasium ids for the bundled tasks (`gym_so101_mjx/LiftCube-v0`, LeRobot's gym_{type}/{task}
naming) and their registration with Gymnasium."""

from __future__ import annotations

from mjx_lerobot.sim.registry import available_tasks

GYM_NAMESPACE = "gym_so101_mjx"


def gym_id(task: str) -> str:
    """'lift_cube' -> 'gym_so101_mjx/LiftCube-v0' (LeRobot's gym_{type}/{task} convention)."""
    return f"{GYM_NAMESPACE}/{''.join(part.capitalize() for part in task.split('_'))}-v0"


def task_from_gym_id(name: str) -> str:
    """'LiftCube-v0', 'gym_so101_mjx/LiftCube-v0' or 'lift_cube' -> 'lift_cube'."""
    by_id = {gym_id(t): t for t in available_tasks()}
    for candidate in (name, f"{GYM_NAMESPACE}/{name}"):
        if candidate in by_id:
            return by_id[candidate]
    if name in available_tasks():
        return name
    raise ValueError(f"unknown task {name!r}; available: {sorted(i.split('/')[1] for i in by_id)}")


def register_envs() -> None:
    """Register every bundled task with Gymnasium: gym.make / gym.make_vec by id."""
    import gymnasium as gym

    for task in available_tasks():
        if gym_id(task) in gym.registry:
            continue
        gym.register(
            id=gym_id(task),
            entry_point="mjx_lerobot.lerobot.single_env:SO101Env",
            vector_entry_point="mjx_lerobot.lerobot.gym_env:SO101VectorEnv",
            kwargs={"task": task},
            disable_env_checker=True,  # SO101Env passes gymnasium's check_env (tests/test_gym_env.py)
        )
