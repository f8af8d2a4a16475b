"""The one registry of tasks: by name (tasks/ shipped with the package), by a user's own file
path, or by Gymnasium id (`gym_so101_mjx/LiftCube-v0`, LeRobot's gym_{type}/{task} naming)."""

from __future__ import annotations

import importlib
import importlib.util
import os
import pkgutil
import sys
from pathlib import Path
from typing import Any

import jax

from mjx_lerobot.core import Env, Task
from mjx_lerobot.scene import enable_compilation_cache


def available_tasks() -> list[str]:
    import mjx_lerobot.tasks as tasks_pkg

    return sorted(m.name for m in pkgutil.iter_modules(tasks_pkg.__path__) if not m.name.startswith("_"))


def load_task(name_or_path: str | Task) -> Task:
    """A Task from a bundled task name ('lift_cube') or a path to a task file ('my/task.py')."""
    if isinstance(name_or_path, Task):
        return name_or_path
    if isinstance(name_or_path, os.PathLike):
        name_or_path = os.fspath(name_or_path)
    if not isinstance(name_or_path, str):
        raise TypeError(f"task must be a name or a path, got {type(name_or_path).__name__}")
    if name_or_path.endswith(".py"):
        path = Path(name_or_path).resolve()
        if not path.exists():
            raise FileNotFoundError(f"task file {path} does not exist")
        module_name = f"mjx_lerobot_user_task_{path.stem}"
        spec = importlib.util.spec_from_file_location(module_name, path)
        module = importlib.util.module_from_spec(spec)
        # Registered before it runs: dataclasses look their module up while being built.
        sys.modules[module_name] = module
        try:
            spec.loader.exec_module(module)
        except BaseException:
            del sys.modules[module_name]
            raise
    else:
        names = available_tasks()
        if name_or_path not in names:
            raise ValueError(f"unknown task {name_or_path!r}; available tasks: {', '.join(names)}")
        module = importlib.import_module(f"mjx_lerobot.tasks.{name_or_path}")
    task = getattr(module, "TASK", None)
    if not isinstance(task, Task):
        raise ValueError(f"{name_or_path}: a task file must define TASK = mjx_lerobot.Task(...)")
    return task


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
            entry_point="mjx_lerobot.gym_env:SO101Env",
            vector_entry_point="mjx_lerobot.gym_env:SO101VectorEnv",
            kwargs={"task": task},
            disable_env_checker=True,  # SO101Env passes gymnasium's check_env (tests/test_gym_env.py)
        )


def make(task: str | Task, num_envs: int = 1, impl: str = "auto", **kwargs: Any) -> Env:
    """Build the batched env: `make("lift_cube", num_envs=1024, impl="warp")`.

    Turns on JAX's persistent compilation cache (unless one is configured already or
    MJX_LEROBOT_CACHE=off), so the second run of the same program skips most compiling.
    """
    if jax.config.jax_compilation_cache_dir is None:
        enable_compilation_cache()
    return Env(load_task(task), num_envs=num_envs, impl=impl, **kwargs)
