#!/usr/bin/python3
"""Reads a DICOM-SEG with pydicom (an independent reader) and prints the facts segsam's tests compare with.

Usage: /usr/bin/python3 tools/reference/dicomseg_check.py SEG.dcm [SOURCE.dcm ...] > facts.json

Needs Debian's python3-pydicom (2.3) and python3-numpy. pydicom decodes the bit-packed frames itself
(Dataset.pixel_array for BitsAllocated 1); nothing here uses segsam's code. Printed (JSON):
  sha256, size          of the file as read
  transfer_syntax, sop_class_uid, modality, segmentation_type, rows, columns, number_of_frames
  bits                  BitsAllocated/BitsStored/HighBit/PixelRepresentation/SamplesPerPixel/Photometric
  segments              per SegmentSequence item: number, label, algorithm type/name, category/type(/modifier) codes
  frames                per frame: segment number, referenced SOP instance UID, image position, dimension index
                        values, and of its decoded pixels: count of set pixels, bounding box [r0, c0, r1, c1] and the
                        sums of row and column indices of the set pixels (which pin down the bit order)
  referenced_series     ReferencedSeriesSequence: series UID and instance UIDs
  frame_of_reference_uid, study_instance_uid, patient_id, patient_name
  vr_mismatches         elements whose VR in the file differs from pydicom's data dictionary (should be empty)
  elements_out_of_order data sets whose tags are not ascending (should be empty)
  sources_match         with SOURCE files given: whether every referenced SOP instance is one of them and the
                        study/frame-of-reference UIDs match the first
  positions_match       with SOURCE files given: whether each frame's ImagePositionPatient is its referenced source
                        image's (the frame lies on the slice it names)
"""
import hashlib
import json
import sys

import numpy as np
import pydicom
from pydicom.datadict import dictionary_VR


def code(seq):
    if seq is None or len(seq) == 0:
        return None
    c = seq[0]
    return [str(c.CodeValue), str(c.CodingSchemeDesignator), str(c.CodeMeaning)]


def check_dataset(ds, path, vr_bad, order_bad):
    last = -1
    for el in ds:
        tag = int(el.tag)
        if tag <= last:
            order_bad.append(path + "/" + str(el.tag))
        last = tag
        if not el.tag.is_private:
            try:
                want = dictionary_VR(el.tag)
            except KeyError:
                want = None
            if want is not None and el.VR not in want.split(" or "):
                vr_bad.append("%s%s %s (dictionary: %s)" % (path, el.tag, el.VR, want))
        if el.VR == "SQ":
            for i, item in enumerate(el.value):
                check_dataset(item, "%s%s[%d]/" % (path, el.tag, i), vr_bad, order_bad)


def main():
    path = sys.argv[1]
    raw = open(path, "rb").read()
    ds = pydicom.dcmread(path)
    frames = ds.pixel_array
    n = int(ds.NumberOfFrames)
    if frames.ndim == 2:
        frames = frames[np.newaxis]
    out = {
        "sha256": hashlib.sha256(raw).hexdigest(),
        "size": len(raw),
        "transfer_syntax": str(ds.file_meta.TransferSyntaxUID),
        "media_storage_sop_class_uid": str(ds.file_meta.MediaStorageSOPClassUID),
        "sop_class_uid": str(ds.SOPClassUID),
        "modality": str(ds.Modality),
        "segmentation_type": str(ds.SegmentationType),
        "rows": int(ds.Rows),
        "columns": int(ds.Columns),
        "number_of_frames": n,
        "bits": [int(ds.BitsAllocated), int(ds.BitsStored), int(ds.HighBit), int(ds.PixelRepresentation),
                 int(ds.SamplesPerPixel), str(ds.PhotometricInterpretation)],
        "manufacturer": str(ds.Manufacturer),
        "segments": [],
        "frames": [],
    }
    for s in ds.SegmentSequence:
        t = s.SegmentedPropertyTypeCodeSequence[0]
        out["segments"].append({
            "number": int(s.SegmentNumber),
            "label": str(s.SegmentLabel),
            "algorithm_type": str(s.SegmentAlgorithmType),
            "algorithm_name": str(s.get("SegmentAlgorithmName", "")),
            "category": code(s.SegmentedPropertyCategoryCodeSequence),
            "type": code(s.SegmentedPropertyTypeCodeSequence),
            "modifier": code(t.get("SegmentedPropertyTypeModifierCodeSequence")),
        })
    for i, f in enumerate(ds.PerFrameFunctionalGroupsSequence):
        px = frames[i].astype(bool)
        rr, cc = np.nonzero(px)
        src = f.DerivationImageSequence[0].SourceImageSequence[0]
        out["frames"].append({
            "segment": int(f.SegmentIdentificationSequence[0].ReferencedSegmentNumber),
            "referenced_sop_instance_uid": str(src.ReferencedSOPInstanceUID),
            "referenced_sop_class_uid": str(src.ReferencedSOPClassUID),
            "image_position": [float(v) for v in f.PlanePositionSequence[0].ImagePositionPatient],
            "dimension_index_values": [int(v) for v in f.FrameContentSequence[0].DimensionIndexValues],
            "set_pixels": int(px.sum()),
            "bbox": [int(rr.min()), int(cc.min()), int(rr.max()), int(cc.max())] if len(rr) else None,
            "row_sum": int(rr.sum()),
            "column_sum": int(cc.sum()),
        })
    shared = ds.SharedFunctionalGroupsSequence[0]
    out["pixel_spacing"] = [float(v) for v in shared.PixelMeasuresSequence[0].PixelSpacing]
    out["image_orientation"] = [float(v) for v in shared.PlaneOrientationSequence[0].ImageOrientationPatient]
    out["referenced_series"] = [{"series_instance_uid": str(r.SeriesInstanceUID),
                                 "instances": [str(x.ReferencedSOPInstanceUID) for x in r.ReferencedInstanceSequence]}
                                for r in ds.ReferencedSeriesSequence]
    out["frame_of_reference_uid"] = str(ds.FrameOfReferenceUID)
    out["study_instance_uid"] = str(ds.StudyInstanceUID)
    out["series_instance_uid"] = str(ds.SeriesInstanceUID)
    out["sop_instance_uid"] = str(ds.SOPInstanceUID)
    out["patient_id"] = str(ds.PatientID)
    out["patient_name"] = str(ds.PatientName)
    vr_bad, order_bad = [], []
    check_dataset(ds.file_meta, "meta/", vr_bad, order_bad)
    check_dataset(ds, "/", vr_bad, order_bad)
    out["vr_mismatches"] = vr_bad
    out["elements_out_of_order"] = order_bad
    if len(sys.argv) > 2:
        srcs = [pydicom.dcmread(p, stop_before_pixels=True) for p in sys.argv[2:]]
        uids = {str(s.SOPInstanceUID) for s in srcs}
        pos = {str(s.SOPInstanceUID): [float(v) for v in s.ImagePositionPatient] for s in srcs}
        out["positions_match"] = all(
            f["referenced_sop_instance_uid"] in pos
            and max(abs(a - b) for a, b in zip(pos[f["referenced_sop_instance_uid"]], f["image_position"])) < 1e-4
            for f in out["frames"])
        out["sources_match"] = (all(f["referenced_sop_instance_uid"] in uids for f in out["frames"])
                                and str(srcs[0].StudyInstanceUID) == out["study_instance_uid"]
                                and str(srcs[0].FrameOfReferenceUID) == out["frame_of_reference_uid"]
                                and str(srcs[0].SeriesInstanceUID) == out["referenced_series"][0]["series_instance_uid"])
    json.dump(out, sys.stdout, indent=1, sort_keys=True)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
