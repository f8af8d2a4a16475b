"""Where a measurement ran: device tag for file names and the machine facts stored beside results."""

from __future__ import annotations

import datetime
import os
import platform

import jax


def device_name() -> str:
    """'cpu' or e.g. 'gpu (NVIDIA H100 80GB HBM3)': the device JAX runs on, for humans."""
    device = jax.devices()[0]
    kind = getattr(device, "device_kind", "")
    return device.platform if kind.lower() in ("", device.platform) else f"{device.platform} ({kind})"


def device_tag() -> str:
    """Short device id for result file names: 'cpu-2core', 'nvidia-h100-80gb-hbm3'."""
    device = jax.devices()[0]
    if device.platform == "cpu":
        return f"cpu-{os.cpu_count()}core"
    return str(getattr(device, "device_kind", device.platform)).replace(" ", "-").lower()


def machine_info() -> dict:
    """Device, CPU count, platform and library versions, stored with every result."""
    import mujoco

    versions = {"jax": jax.__version__, "mujoco": mujoco.__version__}
    try:
        import warp

        versions["warp"] = warp.config.version
    except ImportError:
        pass
    return {
        "device": device_tag(),
        "jax_device": str(jax.devices()[0]),
        "jax_device_count": jax.device_count(),
        "cpu_count": os.cpu_count(),
        "machine": platform.platform(),
        "python": platform.python_version(),
        "versions": versions,
        "date": datetime.date.today().isoformat(),
    }
