"""The instance axis split over several devices: same episodes as on one device.

JAX fixes its device count at start-up, so each check runs in a subprocess with
XLA_FLAGS=--xla_force_host_platform_device_count=4 (four CPU "devices"), the way a machine
with four GPUs looks to JAX.
"""

import json
import os
import subprocess
import sys
import textwrap

import pytest

# Slow tier: subprocesses with 4 host devices, each compiling.
pytestmark = pytest.mark.slow

SCRIPT = textwrap.dedent(
    """
    import json, sys, warnings
    import jax, numpy as np
    import mjx_lerobot
    from mjx_lerobot.sim.rollout import rollout

    impl = sys.argv[1]
    assert jax.device_count() == 4, jax.devices()

    def run(devices):
        env = mjx_lerobot.make("reach", num_envs=8, impl=impl, devices=devices)
        final, traj = rollout(env, env.task.expert(env.scene, env.params), jax.random.key(7), 40)
        return env, final, jax.device_get(traj)

    env4, final4, traj4 = run(None)
    env1, final1, traj1 = run(jax.devices()[:1])
    out = {
        "devices": len(env4.devices),
        "state_devices": len(final4.data.qpos.sharding.device_set),
        "one_device_state_devices": len(final1.data.qpos.sharding.device_set),
        "exact": {k: bool(np.array_equal(traj4[k], traj1[k])) for k in ("success", "terminated", "truncated")},
        "max_qpos_diff": float(np.abs(traj4["qpos"] - traj1["qpos"]).max()),
        "max_reward_diff": float(np.abs(traj4["reward"] - traj1["reward"]).max()),
        "success_rate": float(np.asarray(traj4["success"]).any(0).mean()),
    }
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        uneven = mjx_lerobot.make("reach", num_envs=6, impl=impl)
    out["uneven_devices"] = len(uneven.devices)
    out["uneven_warning"] = any("does not split evenly" in str(w.message) for w in caught)
    try:
        mjx_lerobot.make("reach", num_envs=6, impl=impl, devices=jax.devices())
        out["uneven_explicit"] = "no error"
    except ValueError as err:
        out["uneven_explicit"] = str(err)
    print(json.dumps(out))
    """
)


@pytest.mark.parametrize("impl", ["c"])
def test_four_devices_run_the_same_episodes(impl, tmp_path):
    env = os.environ | {"XLA_FLAGS": "--xla_force_host_platform_device_count=4", "JAX_PLATFORMS": "cpu"}
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, impl], capture_output=True, text=True, env=env, cwd=tmp_path, timeout=900
    )
    assert done.returncode == 0, done.stderr[-3000:]
    out = json.loads(done.stdout.strip().splitlines()[-1])
    # The state really is split over the four devices, and kept on one when asked.
    assert out["devices"] == 4 and out["state_devices"] == 4
    assert out["one_device_state_devices"] == 1
    # Same episodes: every success and episode end at the same step. Each device's XLA program
    # runs a batch of 2 instead of 8, and XLA's float32 vectorisation rounds differently per batch
    # size (tests/test_record.py sees the same between batch 1 and N), so joint angles agree to
    # ~1e-4 rad rather than bit for bit.
    assert all(out["exact"].values()), out
    assert out["max_qpos_diff"] < 1e-3, out
    assert out["max_reward_diff"] < 1e-2, out
    assert out["success_rate"] == 1.0
    # 6 instances do not split over 4 devices: one device and a warning, or a clear error.
    assert out["uneven_devices"] == 1 and out["uneven_warning"]
    assert "does not split evenly over 4 devices" in out["uneven_explicit"]
