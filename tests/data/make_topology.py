#!/usr/bin/env python3
"""Writes the synthetic hwloc topologies the topology tests load (hwloc 2.x XML).

topo-2s.xml: 2 packages (one NUMA node, 4 cores each); per package a PCIe switch with two
NVIDIA H100s (10de:2330), a Xilinx Alveo U250 (10ee:5005) and a NIC (8086:1593) on the host
bridge. The CPU part comes from hwloc's synthetic backend ("pack:2 [numa] core:4 pu:1"); the
PCI trees are added here. Regenerate: python3 tests/data/make_topology.py tests/data
"""
import subprocess
import sys
from pathlib import Path

gp = [1000]


def next_gp():
    gp[0] += 1
    return gp[0]


def pcidev(busid, cls, vendor, device, osdev=None, osdev_type=None, indent=8):
    pad = " " * indent
    out = [f'{pad}<object type="PCIDev" gp_index="{next_gp()}" pci_busid="{busid}" '
           f'pci_type="{cls} [{vendor}:{device}] [{vendor}:0000] 01" pci_link_speed="16.000000">']
    if osdev:
        out.append(f'{pad}  <object type="OSDev" gp_index="{next_gp()}" name="{osdev}" osdev_type="{osdev_type}"/>')
    out.append(f"{pad}</object>")
    return out


def package_io(pkg):
    """A host bridge with a PCIe switch (2 GPUs), an FPGA and a NIC."""
    bus = 0x10 + 0x40 * pkg
    g0, g1 = 2 * pkg, 2 * pkg + 1
    lines = [f'      <object type="Bridge" gp_index="{next_gp()}" bridge_type="0-1" depth="0" '
             f'bridge_pci="0000:[{bus:02x}-{bus + 0x3f:02x}]">',
             f'        <object type="Bridge" gp_index="{next_gp()}" pci_busid="0000:{bus:02x}:00.0" '
             f'pci_type="0604 [10b5:8747] [0000:0000] ca" pci_link_speed="16.000000" bridge_type="1-1" depth="1" '
             f'bridge_pci="0000:[{bus + 1:02x}-{bus + 2:02x}]">']
    lines += pcidev(f"0000:{bus + 1:02x}:00.0", "0302", "10de", "2330", f"cuda{g0}", 5, 10)
    lines += pcidev(f"0000:{bus + 2:02x}:00.0", "0302", "10de", "2330", f"cuda{g1}", 5, 10)
    lines.append("        </object>")
    lines += pcidev(f"0000:{bus + 8:02x}:00.0", "1200", "10ee", "5005", None, None, 8)
    lines += pcidev(f"0000:{bus + 9:02x}:00.0", "0200", "8086", "1593", f"eth{pkg}", 2, 8)
    lines.append("      </object>")
    return lines


def main(folder):
    cpu = subprocess.run(["lstopo-no-graphics", "--input", "pack:2 [numa] core:4 pu:1", "--of", "xml", "-"],
                         check=True, capture_output=True, text=True).stdout.splitlines()
    out, pkg = [], -1
    depth = 0
    for line in cpu:
        if 'name="ProcessName"' in line:
            continue
        if '<object type="Package"' in line:
            pkg += 1
            depth = 0
        out.append(line)
    # Insert each package's I/O tree before the package's closing tag: packages close at
    # 4-space indentation.
    result, seen = [], -1
    for line in out:
        if line == "    </object>" and seen < 1:
            seen += 1
            result += package_io(seen)
        result.append(line)
    Path(folder, "topo-2s.xml").write_text("\n".join(result) + "\n")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else ".")
