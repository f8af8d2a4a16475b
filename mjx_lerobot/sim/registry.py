"""The one registry of tasks: by name (tasks/ shipped with the package) or by a user's own file
path. Gymnasium ids (`gym_so101_mjx/LiftCube-v0`) map onto these names in lerobot/gym_ids.py."""

from __future__ import annotations

import functools
import importlib
import importlib.util
import os
import pkgutil
import sys
from pathlib import Path
from typing import Any

import jax

from mjx_lerobot.sim.env import Env, instance_shapes
from mjx_lerobot.sim.obs import ObsSpec
from mjx_lerobot.sim.scene import build_scene, enable_compilation_cache
from mjx_lerobot.sim.task import Task


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


def make(task: str | Task, num_envs: int = 1, impl: str = "auto", **kwargs: Any) -> Env:
    """Build the batched env: `make("lift_cube", num_envs=1024, impl="warp")`.

    Turns on JAX's persistent compilation cache (unless one is configured already or
    MJX_LEROBOT_CACHE=off), so the second run of the same program skips most compiling.
    """
    if jax.config.jax_compilation_cache_dir is None:
        enable_compilation_cache()
    return Env(load_task(task), num_envs=num_envs, impl=impl, **kwargs)


def observation_spec(task: Any) -> ObsSpec:
    """A task's ObsSpec (a name, path or Task) without building an env: the scene on MuJoCo C
    (every scene loads there) and one traced reset (`jax.eval_shape`, nothing runs)."""
    return _spec_of(task) if isinstance(task, str) else _spec_of_task(load_task(task))


@functools.cache
def _spec_of(name_or_path: str) -> ObsSpec:
    return _spec_of_task(load_task(name_or_path))


def _spec_of_task(task: Any) -> ObsSpec:
    return ObsSpec.from_shapes(instance_shapes(task, build_scene(task.scene, impl="c")).obs)
