#!/usr/bin/env python3
"""Writes the small NIfTI-1 fixtures of io's tests (and fuzz seeds) with numpy and struct only, from nifti1.h's
layout: a 4-D int16 image (x + 10y + 100z + 1000t, scaled by scl_slope 0.5 / scl_inter -1), a 3-D float32 image
with a qform and one NaN, and a big-endian 3-D uint8 image. Run from the repository root:

    python3 tools/reference/nifti_small_fixtures.py

The Java tests check the values by the same formulas; nibabel is not needed."""
import struct
import numpy as np

OUT = "io/src/test/resources/medical/nifti/"


def header(order, shape, datatype, bitpix, pixdim, slope=0.0, inter=0.0, qform=0, sform=0, quatern=(0, 0, 0),
           qoffset=(0, 0, 0), srow=None, descrip=b""):
    h = bytearray(348)
    struct.pack_into(order + "i", h, 0, 348)                      # sizeof_hdr
    dim = [len(shape)] + list(shape) + [1] * (7 - len(shape))
    struct.pack_into(order + "8h", h, 40, *dim)                   # dim[8]
    struct.pack_into(order + "hh", h, 70, datatype, bitpix)       # datatype, bitpix
    struct.pack_into(order + "8f", h, 76, *([1.0] + list(pixdim) + [0.0] * (7 - len(pixdim))))  # pixdim[8]
    struct.pack_into(order + "f", h, 108, 352.0)                  # vox_offset
    struct.pack_into(order + "ff", h, 112, slope, inter)          # scl_slope, scl_inter
    h[123] = 2                                                    # xyzt_units: mm
    h[148:148 + len(descrip)] = descrip
    struct.pack_into(order + "hh", h, 252, qform, sform)          # qform_code, sform_code
    struct.pack_into(order + "6f", h, 256, *quatern, *qoffset)    # quatern_b..d, qoffset_x..z
    if srow is not None:
        struct.pack_into(order + "12f", h, 280, *srow)            # srow_x, srow_y, srow_z
    h[344:348] = b"n+1\0"
    return bytes(h) + b"\0\0\0\0"                                  # extension flag: none


def main():
    # 4-D: 4 x 3 x 2 spatial, 3 volumes; voxel (x, y, z, t) stored = x + 10y + 100z + 1000t (int16), value = 0.5·stored − 1
    nx, ny, nz, nt = 4, 3, 2, 3
    t, z, y, x = np.meshgrid(np.arange(nt), np.arange(nz), np.arange(ny), np.arange(nx), indexing="ij")
    v = (x + 10 * y + 100 * z + 1000 * t).astype("<i2")          # C order [t, z, y, x] = NIfTI order, x fastest
    srow = [1.5, 0, 0, -10, 0, 2.0, 0, 20, 0, 0, 2.5, 30]
    with open(OUT + "small4d.nii", "wb") as f:
        f.write(header("<", (nx, ny, nz, nt), 4, 16, (1.5, 2.0, 2.5, 1.0), slope=0.5, inter=-1.0, sform=1, srow=srow,
                       descrip=b"segsam 4-D fixture"))
        f.write(v.tobytes())

    # 3-D float32 5 x 4 x 3 with a qform (90 degrees about z) and one NaN; value = x - 2y + 0.25z
    nx, ny, nz = 5, 4, 3
    z, y, x = np.meshgrid(np.arange(nz), np.arange(ny), np.arange(nx), indexing="ij")
    f32 = (x - 2 * y + 0.25 * z).astype("<f4")
    f32[1, 2, 3] = np.nan
    s = np.sqrt(0.5)
    with open(OUT + "small3d_qform.nii", "wb") as f:
        f.write(header("<", (nx, ny, nz), 16, 32, (0.8, 0.8, 3.0), qform=1, quatern=(0.0, 0.0, float(s)), qoffset=(1, 2, 3)))
        f.write(f32.tobytes())

    # big-endian uint8 2 x 2 x 2, value = 7·index
    u8 = (np.arange(8) * 7).astype("u1")
    with open(OUT + "small3d_be.nii", "wb") as f:
        f.write(header(">", (2, 2, 2), 2, 8, (1.0, 1.0, 1.0)))
        f.write(u8.tobytes())


if __name__ == "__main__":
    main()
