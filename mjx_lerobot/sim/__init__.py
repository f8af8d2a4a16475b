"""The simulator: the task contract, the batched env, scenes, cameras, randomization, experts.

It knows nothing of Gymnasium, LeRobot, RL or the apps: those layers import it, never the
reverse. Physics backends live one layer down, in `mjx_lerobot.physics`.
"""
