"""Against the real lerobot: EnvHub loading, our EnvConfig, observation preprocessing, and
lerobot's own eval loop and CLI.

lerobot is an optional extra (`pip install -e ".[lerobot]" ./lerobot-env-so101-mjx`). Without it
these tests skip, visibly; CI installs it and sets MJX_LEROBOT_REQUIRE_LEROBOT=1, which turns a
missing lerobot into a failure instead of a skip.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

if os.environ.get("MJX_LEROBOT_REQUIRE_LEROBOT") == "1":
    import lerobot  # noqa: F401  (must be installed: fail loudly)
else:
    pytest.importorskip("lerobot", reason='lerobot not installed: pip install -e ".[lerobot]"')

import torch  # noqa: E402
from lerobot.envs.factory import make_env  # noqa: E402
from lerobot.envs.utils import (  # noqa: E402
    _call_make_env,
    _load_module_from_path,
    _normalize_hub_result,
    env_to_policy_features,
    preprocess_observation,
)

import mjx_lerobot  # noqa: E402
from mjx_lerobot.lerobot.config import SO101MjxEnvConfig  # noqa: E402
from mjx_lerobot.lerobot.gym_env import SO101VectorEnv  # noqa: E402

# Slow tier: lerobot-eval and EnvHub envs stepped on every task (a compile each).
pytestmark = pytest.mark.slow

TASKS_DIR = Path(__file__).resolve().parents[1] / "tasks"


def test_plugin_discovery_registers_the_env_type():
    """What lerobot-eval does first: import every installed lerobot_env_* distribution."""
    code = (
        "from lerobot.utils.import_utils import register_third_party_plugins; register_third_party_plugins(); "
        "from lerobot.envs.configs import EnvConfig; print(EnvConfig.get_choice_class('so101_mjx').__name__)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=TASKS_DIR.parent)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip().endswith("SO101MjxEnvConfig")


@pytest.mark.parametrize("task", mjx_lerobot.available_tasks())
def test_envhub_loader_on_every_task_file(task):
    """lerobot.envs.factory.make_env("user/repo:tasks/<task>.py") runs exactly these steps."""
    module = _load_module_from_path(str(TASKS_DIR / f"{task}.py"))
    envs = _normalize_hub_result(_call_make_env(module, n_envs=3, use_async_envs=False, cfg=None))
    (suite,) = envs
    env = envs[suite][0]
    assert isinstance(env, SO101VectorEnv) and env.num_envs == 3 and env.task == task
    assert env.call("task_description")[0] == mjx_lerobot.load_task(task).instruction
    # The env it builds runs: reset, then steps with actions from its own action space.
    obs, _ = env.reset(seed=0)
    env.action_space.seed(0)
    for _ in range(3):
        obs, reward, terminated, truncated, _ = env.step(env.action_space.sample())
        assert set(obs) == set(env.observation_space.spaces)
        for key, value in obs.items():
            assert value.shape[0] == 3 and np.isfinite(value).all(), key
        assert np.isfinite(reward).all() and reward.shape == terminated.shape == truncated.shape == (3,)
    env.close()


def test_envhub_make_env_honours_lerobot_config():
    module = _load_module_from_path(str(TASKS_DIR / "lift_cube.py"))
    cfg = SO101MjxEnvConfig(
        obs_type="environment_state_agent_pos", impl="c", episode_length=4, use_degrees=False, randomize=True
    )
    env = _normalize_hub_result(_call_make_env(module, n_envs=2, use_async_envs=True, cfg=cfg))
    env = next(iter(env.values()))[0]
    assert env._max_episode_steps == 4 and env.units.units == "radians" and env.env.impl == "c"
    assert env.env.randomized  # --env.randomize=true
    obs, _ = env.reset(seed=0)
    assert set(obs) == {"agent_pos", "environment_state"}
    env.close()


def test_env_config_make_env_and_preprocess_observation():
    cfg = SO101MjxEnvConfig(
        obs_type="pixels_environment_state_agent_pos",
        impl="c",
        episode_length=5,
        observation_height=64,
        observation_width=96,
    )
    envs = make_env(cfg, n_envs=3)
    env = envs["so101_mjx"][0]
    assert isinstance(env, SO101VectorEnv) and env.num_envs == 3
    obs, _ = env.reset(seed=[0, 1, 2])
    obs, *_ = env.step(obs["agent_pos"])
    batch = preprocess_observation(obs)
    policy_features = env_to_policy_features(cfg)
    assert set(batch) == set(policy_features) - {"action"}
    for key, feature in policy_features.items():
        if key != "action":
            assert tuple(batch[key].shape[1:]) == tuple(feature.shape), key
    assert batch["observation.state"].dtype == torch.float32
    images = batch["observation.images.front"]
    assert images.shape == (3, 3, 64, 96) and 0.0 <= images.min() and images.max() <= 1.0
    env.close()


def test_lerobot_eval_policy_reads_success_from_our_info():
    """lerobot's own eval loop, with a trivial policy: the scripted expert (oracle) succeeds,
    holding still never does; the success rate lerobot reports must say so."""
    from lerobot.policies.act.configuration_act import ACTConfig
    from lerobot.policies.pretrained import PreTrainedPolicy
    from lerobot.processor import PolicyProcessorPipeline
    from lerobot.processor.converters import policy_action_to_transition, transition_to_policy_action
    from lerobot.scripts.lerobot_eval import eval_policy

    class TrivialPolicy(PreTrainedPolicy):
        config_class = ACTConfig
        name = "trivial"

        def __init__(self, act):
            torch.nn.Module.__init__(self)
            self.act = act

        def select_action(self, batch, **kwargs):
            return torch.from_numpy(self.act(batch))

        def reset(self):
            pass

        def get_optim_params(self):
            return {}

        def forward(self, batch):
            raise NotImplementedError

        def predict_action_chunk(self, batch, **kwargs):
            raise NotImplementedError

    cfg = SO101MjxEnvConfig(obs_type="environment_state_agent_pos", impl="c")
    env = cfg.create_envs(n_envs=4)["so101_mjx"][0]
    identity = PolicyProcessorPipeline(steps=[])
    identity_action = PolicyProcessorPipeline(
        steps=[], to_transition=policy_action_to_transition, to_output=transition_to_policy_action
    )
    results = {}
    policies = {
        "expert": lambda batch: env.expert_action(),
        "hold": lambda batch: batch["observation.state"].numpy(),
    }
    for name, act in policies.items():
        info = eval_policy(
            env, TrivialPolicy(act), identity, identity, identity, identity_action, n_episodes=4, start_seed=0
        )
        results[name] = info["aggregated"]["pc_success"]
    env.close()
    assert results == {"expert": 100.0, "hold": 0.0}, results


@pytest.mark.slow
def test_lerobot_eval_cli_runs_unmodified(tmp_path):
    """`lerobot-eval --env.type=so101_mjx ...` with a (randomly initialised) ACT policy."""
    policy_dir = tmp_path / "policy"
    make_policy = f"""
import mjx_lerobot.lerobot.config
from lerobot.policies.act.configuration_act import ACTConfig
from lerobot.policies.factory import make_policy, make_pre_post_processors
from mjx_lerobot.lerobot.config import SO101MjxEnvConfig
cfg = ACTConfig(device="cpu", dim_model=32, n_heads=2, dim_feedforward=64, n_encoder_layers=1,
                n_decoder_layers=1, chunk_size=5, n_action_steps=5, use_vae=False,
                pretrained_backbone_weights=None)
policy = make_policy(cfg, env_cfg=SO101MjxEnvConfig(obs_type="environment_state_agent_pos"))
for part in (policy, *make_pre_post_processors(cfg, dataset_stats=None)):
    part.save_pretrained({str(policy_dir)!r})
"""
    subprocess.run([sys.executable, "-c", make_policy], check=True, capture_output=True)
    out_dir = tmp_path / "eval"
    cmd = [
        str(Path(sys.executable).with_name("lerobot-eval")),
        f"--policy.path={policy_dir}",
        "--policy.device=cpu",
        "--env.type=so101_mjx",
        "--env.task=LiftCube-v0",
        "--env.obs_type=environment_state_agent_pos",
        "--env.impl=c",
        "--env.episode_length=10",
        "--eval.batch_size=8",
        "--eval.n_episodes=8",
        f"--output_dir={out_dir}",
    ]
    run = subprocess.run(cmd, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr[-3000:]
    info = json.loads((out_dir / "eval_info.json").read_text())
    assert info["overall"]["n_episodes"] == 8
    assert np.isfinite(info["overall"]["pc_success"])
    assert list((out_dir / "videos").rglob("*.mp4"))  # lerobot rendered episodes via env.call("render")
