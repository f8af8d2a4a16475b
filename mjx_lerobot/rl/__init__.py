"""Reinforcement learning on the batched env: PPO (state or pixels), written in JAX."""
