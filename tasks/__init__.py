"""Tasks bundled with mjx-lerobot: one file per task, each exporting TASK and make_env."""
