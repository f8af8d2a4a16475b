"""The benchmark harness behind `mjx-lerobot bench`: it measures the simulator, never the reverse."""
