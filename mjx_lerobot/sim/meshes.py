"""The SO-101's own look from its CAD meshes, found at first use, decimated once, cached.

The meshes (The Robot Studio's SO-101, Apache-2.0) are not part of this repository. They are
found, in this order: a directory passed in or named by `MJX_LEROBOT_SO101_MESHES`, holding
The Robot Studio's MJCF (`so101_new_calib.xml`, the calibration this project's kinematics
follow) or Menagerie's (`so101.xml`) with its `assets/*.stl`; else MuJoCo Menagerie's copy
through the `mujoco-menagerie` package (the `meshes` extra), which downloads it once where a
network is present. Each mesh is decimated once to a triangle budget (the batched ray tracer's
cost grows with triangles) and cached in `~/.cache/mjx_lerobot/so101_meshes/`. The meshes are
placed on this project's bodies where the published MJCF places them (its body frames are the
same), drawn only (no collision, no mass), in the robot's visual group; the primitive shells and
servos they replace are removed. Without meshes the primitive look stays, and one line says
how to get the real one.

Decimation is by vertex clustering (vertices snapped to a grid whose cell is searched for the
budget, then merged): these STL files are triangle soups with many separate parts, on which
edge-collapse decimators stop far above the asked count.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import os
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import mujoco
import numpy as np

ENV_VAR = "MJX_LEROBOT_SO101_MESHES"
#: The arm's MJCF as The Robot Studio names it, and as MuJoCo Menagerie does.
CAD_MJCFS = ("so101_new_calib.xml", "so101.xml")
MENAGERIE_NAME = "robotstudio_so101"
#: Triangles per mesh: the arm's 13 meshes in ~25k triangles instead of 322k.
DEFAULT_BUDGET = 2000
#: The published MJCF's body names that differ from this project's.
BODY_NAMES = {"moving_jaw_so101_v1": "moving_jaw"}
#: The primitive geom classes that stand for the arm's shells and servos.
PRIMITIVE_CLASSES = ("shell", "servo")


@dataclasses.dataclass(frozen=True)
class VisualGeom:
    """One mesh of the arm where the CAD puts it on one of this project's bodies."""

    body: str
    mesh: str  # file stem in assets/
    pos: tuple[float, float, float]
    quat: tuple[float, float, float, float]
    rgba: tuple[float, float, float, float]


def find_cad(directory: str | os.PathLike | None = None) -> Path | None:
    """The CAD directory: `directory`, else $MJX_LEROBOT_SO101_MESHES ("off": none), else the
    `mujoco-menagerie` package's copy (the `meshes` extra: downloaded once where a network is
    present, then cached), else None. A directory that is named but holds no usable CAD is a
    clear error, not a silent fallback."""
    named = directory if directory is not None else os.environ.get(ENV_VAR) or None
    if named == "off":
        return None
    if named is None:
        return from_menagerie()
    path = Path(named).expanduser()
    if cad_mjcf(path) is None or not any((path / "assets").glob("*.stl")):
        raise FileNotFoundError(
            f"{path} does not hold the SO-101 CAD ({' or '.join(CAD_MJCFS)} and assets/*.stl), as The "
            "Robot Studio publishes it in SO-ARM100/Simulation/SO101 or MuJoCo Menagerie in robotstudio_so101"
        )
    return path


def turned_off() -> bool:
    """Whether the user chose the primitive look ($MJX_LEROBOT_SO101_MESHES=off)."""
    return os.environ.get(ENV_VAR) == "off"


def cad_mjcf(directory: Path) -> Path | None:
    """The arm's MJCF in a CAD directory: The Robot Studio's file name, or Menagerie's."""
    return next((directory / name for name in CAD_MJCFS if (directory / name).is_file()), None)


def from_menagerie() -> Path | None:
    """MuJoCo Menagerie's SO-101 directory, fetched at first use; None (with the reason, once)
    where the package is not installed or the download fails."""
    try:
        import mujoco_menagerie
    except ImportError:
        return None
    try:
        path = mujoco_menagerie.get(MENAGERIE_NAME).path(progress=None)
    except Exception as err:  # noqa: BLE001  (no network, a full disk, a changed registry...)
        say_menagerie_failed(f"{type(err).__name__}: {err}")
        return None
    return find_cad(path)


def visual_geoms(cad: Path) -> list[VisualGeom]:
    """The arm's visual meshes with their placements and colours, read from the published MJCF."""
    mjcf = cad_mjcf(cad)
    try:
        root = ET.parse(mjcf).getroot()
    except ET.ParseError as err:
        raise ValueError(f"{mjcf} is not a readable MJCF: {err}") from err
    colours = {m.get("name"): m.get("rgba", "0.5 0.5 0.5 1") for m in root.iter("material")}
    geoms = []
    for body in root.iter("body"):
        name = BODY_NAMES.get(body.get("name"), body.get("name"))
        for geom in body.findall("geom"):
            drawn_only = geom.get("class") == "visual" or geom.get("contype") == geom.get("conaffinity") == "0"
            if geom.get("type") != "mesh" or not drawn_only:
                continue
            geoms.append(VisualGeom(
                body=name,
                mesh=geom.get("mesh"),
                pos=tuple(float(x) for x in geom.get("pos", "0 0 0").split()),
                quat=tuple(float(x) for x in geom.get("quat", "1 0 0 0").split()),
                rgba=tuple(float(x) for x in colours.get(geom.get("material"), "0.5 0.5 0.5 1").split()),
            ))  # fmt: skip
    if not geoms:
        raise ValueError(f"{mjcf} has no visual mesh geoms")
    return geoms


def decimate(vertices: np.ndarray, faces: np.ndarray, budget: int) -> tuple[np.ndarray, np.ndarray]:
    """At most `budget` triangles: vertices clustered on the finest grid that meets it."""
    if len(faces) <= budget:
        return vertices, faces

    def cluster(cell: float) -> tuple[np.ndarray, np.ndarray]:
        unique, index = np.unique(np.round(vertices / cell), axis=0, return_inverse=True)
        tris = index.reshape(-1)[faces]
        tris = tris[(tris[:, 0] != tris[:, 1]) & (tris[:, 1] != tris[:, 2]) & (tris[:, 0] != tris[:, 2])]
        _, first = np.unique(np.sort(tris, axis=1), axis=0, return_index=True)  # each triangle once
        return unique * cell, tris[np.sort(first)]

    low, high = 1e-6, float(np.ptp(vertices, axis=0).max())
    best = cluster(high)
    for _ in range(20):  # geometric bisection on the cell size
        cell = (low * high) ** 0.5
        candidate = cluster(cell)
        if len(candidate[1]) > budget:
            low = cell
        else:
            high, best = cell, candidate
    return best


def cached_meshes(cad: Path, budget: int = DEFAULT_BUDGET, cache: Path | None = None) -> dict[str, Path]:
    """Each of the CAD's STL files decimated to `budget`, from the cache or made now."""
    import trimesh

    cache = cache or Path(os.environ.get("MJX_LEROBOT_CACHE") or Path.home() / ".cache" / "mjx_lerobot")
    out = {}
    for stl in sorted((cad / "assets").glob("*.stl")):
        digest = hashlib.sha1(stl.read_bytes()).hexdigest()[:12]
        path = cache / "so101_meshes" / f"{stl.stem}_{digest}_{budget}.stl"
        if not path.exists():
            try:
                mesh = trimesh.load(stl, force="mesh")
            except Exception as err:  # noqa: BLE001  (trimesh raises many kinds for a bad file)
                raise ValueError(f"{stl} is not a readable STL mesh: {err}") from err
            if len(mesh.faces) == 0:
                raise ValueError(f"{stl} is not a readable STL mesh: no triangles")
            vertices, faces = decimate(np.asarray(mesh.vertices), np.asarray(mesh.faces), budget)
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(".tmp.stl")
            trimesh.Trimesh(vertices, faces, process=False).export(tmp)
            os.replace(tmp, path)
        out[stl.stem] = path
    return out


def attach(spec: mujoco.MjSpec, cad: Path, budget: int | None = None) -> mujoco.MjSpec:
    """`spec` with the arm drawn by its CAD meshes (visual only) instead of its primitives;
    `budget` triangles per mesh (default `DEFAULT_BUDGET`)."""
    meshes = cached_meshes(cad, budget or DEFAULT_BUDGET)
    # The primitive shells and servos are drawn only (no contact, no mass): with the meshes in
    # their place they go, so neither renderer spends time on them.
    for geom in [g for g in spec.geoms if g.classname.name in PRIMITIVE_CLASSES]:
        spec.delete(geom)
    added = set()
    for visual in visual_geoms(cad):
        if visual.mesh not in meshes:
            raise ValueError(f"{cad_mjcf(cad)} places mesh {visual.mesh!r}, which assets/ lacks")
        name = f"so101_{visual.mesh}"
        if name not in added:
            spec.add_mesh(name=name, file=str(meshes[visual.mesh]))
            added.add(name)
        body = spec.body(visual.body)
        if body is None:
            raise ValueError(f"the CAD places a mesh on body {visual.body!r}, which this scene lacks")
        body.add_geom(
            type=mujoco.mjtGeom.mjGEOM_MESH, meshname=name, pos=visual.pos, quat=visual.quat, rgba=visual.rgba,
            contype=0, conaffinity=0, group=2, density=0, mass=0,
        )  # fmt: skip
    return spec


@functools.cache
def say_menagerie_failed(reason: str) -> None:
    """Once per process: Menagerie's copy could not be fetched, and why."""
    print(f"mjx_lerobot: MuJoCo Menagerie's SO-101 meshes could not be fetched ({reason})", file=sys.stderr)


@functools.cache
def say_how_to_get_them() -> None:
    """Once per process: the arm is drawn from boxes, and how to draw the real one."""
    print(
        "mjx_lerobot: the SO-101 is drawn from boxes; for its real look install the meshes extra "
        f"(pip install 'mjx-lerobot[meshes]': MuJoCo Menagerie's copy, fetched once) or set {ENV_VAR} to a "
        "copy of The Robot Studio's SO-ARM100/Simulation/SO101 folder (Apache-2.0)",
        file=sys.stderr,
    )
