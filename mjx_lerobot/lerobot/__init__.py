"""The LeRobot side: the Gymnasium adapter, gym ids, EnvHub, the `so101_mjx` EnvConfig, joint
units, and dataset recording and replay. Built on `mjx_lerobot.sim`; nothing below imports it.
(`config.py` imports LeRobot itself, so it is loaded only where LeRobot is installed.)"""
