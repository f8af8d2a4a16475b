"""The `mjx-lerobot` command and what it runs: demo, viewer, teleoperation."""
