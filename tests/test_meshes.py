"""The SO-101's CAD meshes: found in a named directory, decimated within the budget and cached,
drawn by both renderers where the kinematics put the arm; a clear line without them and a
clear error for a bad directory or a broken mesh. Uses the CAD copy in ../shared (offline)."""

from __future__ import annotations

import shutil
from pathlib import Path

import jax
import mujoco
import numpy as np
import pytest
import trimesh

import mjx_lerobot
from mjx_lerobot.sim import meshes
from mjx_lerobot.sim.scene import load_mj_model

CAD = Path(__file__).resolve().parents[2] / "shared" / "assets" / "so101-cad"
pytestmark = pytest.mark.skipif(not (CAD / meshes.CAD_MJCFS[0]).exists(), reason=f"no SO-101 CAD copy at {CAD}")
LINKS = ("shoulder", "upper_arm", "lower_arm", "wrist", "gripper")
POSE = np.array([0.2, 0.6, -0.6, 0.8, 0.0, 0.3])  # every link in the front camera's view


def test_meshes_are_found_decimated_within_the_budget_and_cached(tmp_path, monkeypatch):
    monkeypatch.delenv(meshes.ENV_VAR, raising=False)
    assert meshes.find_cad() is None
    monkeypatch.setenv(meshes.ENV_VAR, str(CAD))
    assert meshes.find_cad() == CAD
    decimated = meshes.cached_meshes(CAD, budget=600, cache=tmp_path)
    assert len(decimated) == len(list((CAD / "assets").glob("*.stl")))
    for stem, path in decimated.items():
        original = trimesh.load(CAD / "assets" / f"{stem}.stl", force="mesh")
        small = trimesh.load(path, force="mesh")
        assert 0 < len(small.faces) <= 600, stem
        # Still the same part: its bounding box within 5 mm (the clustering grid) of the original's.
        np.testing.assert_allclose(small.bounds, original.bounds, atol=5e-3, err_msg=stem)
    stamps = {path: path.stat().st_mtime_ns for path in decimated.values()}
    again = meshes.cached_meshes(CAD, budget=600, cache=tmp_path)
    assert {path: path.stat().st_mtime_ns for path in again.values()} == stamps  # from the cache


def test_a_bad_directory_or_a_broken_mesh_is_one_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not hold the SO-101 CAD"):
        meshes.find_cad(tmp_path)
    broken = tmp_path / "cad"
    shutil.copytree(CAD, broken)
    (broken / "assets" / "base_so101_v2.stl").write_bytes(b"not a mesh at all")
    with pytest.raises(ValueError, match="base_so101_v2.stl is not a readable STL mesh"):
        meshes.cached_meshes(broken, cache=tmp_path / "cache")


def test_without_meshes_one_line_says_how_to_get_them(monkeypatch, capsys):
    monkeypatch.delenv(meshes.ENV_VAR, raising=False)
    meshes.say_how_to_get_them.cache_clear()
    model = load_mj_model("scene_cube.xml")
    load_mj_model("scene_cube.xml")
    assert model.nmesh == 0
    lines = [line for line in capsys.readouterr().err.splitlines() if meshes.ENV_VAR in line]
    assert len(lines) == 1  # once per process


def project(model: mujoco.MjModel, data: mujoco.MjData, camera: str, points: np.ndarray, size: int) -> np.ndarray:
    """Pixel (row, column) of world points in a square image of `camera`."""
    cam = model.camera(camera).id
    local = (points - data.cam_xpos[cam]) @ data.cam_xmat[cam].reshape(3, 3)  # camera frame: -z looks ahead
    focal = (size / 2) / np.tan(np.deg2rad(model.cam_fovy[cam]) / 2)
    column = size / 2 + focal * local[:, 0] / -local[:, 2]
    row = size / 2 - focal * local[:, 1] / -local[:, 2]
    return np.stack([row, column], axis=1).round().astype(int)


def arm_coloured(pixels: np.ndarray) -> np.ndarray:
    """Printed shells (the CAD's yellow) or servo bodies (near black)."""
    px = pixels.astype(int)
    yellow = (px[..., 0] > 120) & (px[..., 1] > 90) & (px[..., 2] < 90)
    dark = px.max(axis=-1) < 60
    return yellow | dark


@pytest.mark.slow
def test_both_renderers_draw_the_mesh_arm_where_the_kinematics_put_it(monkeypatch):
    monkeypatch.setenv(meshes.ENV_VAR, str(CAD))
    size = 96
    env = mjx_lerobot.make("lift_cube", num_envs=1, impl="warp", cameras=("front",), image_size=size)
    model = env.scene.mj_model
    assert model.nmesh == len(list((CAD / "assets").glob("*.stl")))
    state = env.reset(jax.random.key(0))
    qpos = np.asarray(state.data.qpos[0]).copy()
    qpos[env.scene.arm_qpos] = POSE
    state = state.replace(data=state.data.replace(qpos=state.data.qpos.at[0].set(qpos)))
    batched = np.asarray(env.with_pixels(state).obs["pixels"]["front"][0])

    data = mujoco.MjData(model)
    data.qpos[:] = qpos
    mujoco.mj_forward(model, data)
    renderer = mujoco.Renderer(model, size, size)
    option = mujoco.MjvOption()
    option.geomgroup[:] = [1, 0, 1, 0, 0, 0]  # what the policy cameras draw: the world and the robot
    renderer.update_scene(data, camera="front", scene_option=option)
    gl = renderer.render()
    renderer.close()

    origins = np.array([data.xpos[model.body(name).id] for name in LINKS])
    rows, cols = project(model, data, "front", origins, size).T
    inside = (rows >= 0) & (rows < size) & (cols >= 0) & (cols < size)
    assert inside.all(), (rows, cols)
    for name, image in (("gl", gl), ("batched", batched)):
        near = [arm_coloured(image[max(r - 1, 0) : r + 2, max(c - 1, 0) : c + 2]).any()
                for r, c in zip(rows[inside], cols[inside], strict=True)]  # fmt: skip
        assert all(near), (name, dict(zip(np.array(LINKS)[inside], near, strict=True)))
    # The primitives the meshes replace are gone: everything the arm shows a camera is a mesh.
    arm = {model.body(name).id for name in LINKS}
    shown = [i for i in range(model.ngeom) if model.geom_bodyid[i] in arm and model.geom_group[i] == 2]
    assert len(shown) >= 10 and all(model.geom_type[i] == mujoco.mjtGeom.mjGEOM_MESH for i in shown)


def menagerie_copy(root: Path) -> Path:
    """A Menagerie-layout copy of the CAD (robotstudio_so101/so101.xml + assets/)."""
    robot = root / meshes.MENAGERIE_NAME
    (robot / "assets").mkdir(parents=True)
    shutil.copy(CAD / meshes.CAD_MJCFS[0], robot / "so101.xml")
    for stl in (CAD / "assets").glob("*.stl"):
        (robot / "assets" / stl.name).symlink_to(stl)
    return robot


def test_meshes_come_from_menagerie_where_nothing_is_named(tmp_path, monkeypatch):
    pytest.importorskip("mujoco_menagerie")
    robot = menagerie_copy(tmp_path / "menagerie")
    monkeypatch.delenv(meshes.ENV_VAR, raising=False)
    monkeypatch.setenv("MENAGERIE_ROOT", str(tmp_path / "menagerie"))
    assert meshes.find_cad() == robot
    assert len(meshes.visual_geoms(robot)) >= 13


def test_an_unreachable_menagerie_falls_back_to_boxes_with_one_line(tmp_path, monkeypatch, capsys):
    pytest.importorskip("mujoco_menagerie")
    monkeypatch.delenv(meshes.ENV_VAR, raising=False)
    monkeypatch.delenv("MENAGERIE_ROOT", raising=False)
    monkeypatch.setenv("MENAGERIE_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("MENAGERIE_BASE_URL", (tmp_path / "no-such-server").as_uri())
    meshes.say_menagerie_failed.cache_clear()
    assert meshes.find_cad() is None
    assert meshes.find_cad() is None
    lines = [line for line in capsys.readouterr().err.splitlines() if "Menagerie" in line]
    assert len(lines) == 1, lines


def test_off_means_no_meshes_whatever_is_installed_and_no_advice(monkeypatch, capsys):
    monkeypatch.setenv(meshes.ENV_VAR, "off")
    meshes.say_how_to_get_them.cache_clear()
    assert meshes.find_cad() is None
    assert load_mj_model("scene_cube.xml").nmesh == 0
    assert meshes.ENV_VAR not in capsys.readouterr().err


def _jaw_surface(mesh: trimesh.Trimesh, along: int, at: float, toward: float) -> float:
    """The mesh's extreme x at `at` along axis `along`, on the side facing the other jaw."""
    origin, normal = np.zeros(3), np.zeros(3)
    origin[along], normal[along] = at, 1.0
    section = mesh.section(plane_origin=origin, plane_normal=normal)
    if section is None:  # past the fingertip
        return float("nan")
    x = section.vertices[:, 0]
    return float(x.max() if toward > 0 else x.min())


@pytest.mark.parametrize(
    ("pad", "body", "stl", "along", "toward"),
    [("fixed_pad", "gripper", "wrist_roll_follower_so101_v1", 2, 1.0),
     ("moving_pad", "moving_jaw", "moving_jaw_so101_v1", 1, -1.0)],
)  # fmt: skip
def test_the_jaw_pads_lie_on_the_real_jaws_gripping_faces(pad, body, stl, along, toward):
    placed = {(v.body, v.mesh): v for v in meshes.visual_geoms(CAD)}[body, stl]
    mesh = trimesh.load(CAD / "assets" / f"{stl}.stl", force="mesh")
    transform = np.eye(4)
    rotation = np.zeros(9)
    mujoco.mju_quat2Mat(rotation, np.asarray(placed.quat, np.float64))
    transform[:3, :3], transform[:3, 3] = rotation.reshape(3, 3), placed.pos
    mesh.apply_transform(transform)  # into the jaw body's frame, as the CAD places it

    model = load_mj_model("scene_cube.xml")
    g = model.geom(pad).id
    frame = np.zeros(9)
    mujoco.mju_quat2Mat(frame, model.geom_quat[g])
    frame = frame.reshape(3, 3)
    face = model.geom_pos[g] + toward * frame[:, 0] * model.geom_size[g][0]  # the face toward the other jaw
    length_axis = int(np.argmax(np.abs(frame[along])))
    proud = []
    for u in np.linspace(-0.95, 0.95, 15):
        point = face + frame[:, length_axis] * model.geom_size[g][length_axis] * u
        proud.append(toward * (point[0] - _jaw_surface(mesh, along, point[along], toward)) * 1000)
    proud = [p for p in proud if p == p]
    assert len(proud) >= 12  # the pad runs along the finger, at most its end past the tip
    # Never behind the real face. In front of it by at most 5.3 mm (fixed pad, near the palm)
    # and 3.1 mm (moving pad): the pads are flat, the real faces are shallow staircases.
    assert min(proud) > -0.3 and max(proud) < 5.6, np.round(proud, 2)


def test_gripperframe_sits_half_a_cube_from_the_fixed_pad():
    model = load_mj_model("scene_cube.xml")
    g = model.geom("fixed_pad").id
    frame = np.zeros(9)
    mujoco.mju_quat2Mat(frame, model.geom_quat[g])
    normal = frame.reshape(3, 3)[:, 0]
    face = model.geom_pos[g] + normal * model.geom_size[g][0]
    site = model.site_pos[model.site("gripperframe").id]
    assert (site - face) @ normal == pytest.approx(0.0125, abs=3e-4)
