package dev.segsam.io.fuzz;

import dev.segsam.io.medical.Axis;
import dev.segsam.io.medical.Volume;

/** What a volume read from an untrusted file must satisfy, and the uses the command line makes of it. */
final class VolumeChecks {
    private VolumeChecks() {}

    static void check(Volume v) {
        try (v) {
            long n = (long) v.nx() * v.ny() * v.nz();
            if (v.nx() < 1 || v.ny() < 1 || v.nz() < 1 || v.data().numel() != n) throw new AssertionError("dims " + v);
            if (n > Invariant.LIMITS.maxVolumeVoxels()) throw new AssertionError("over the voxel limit: " + v);
            int[] d = v.fileDims();
            if (d[0] != v.nx() || d[1] != v.ny() || d[2] != v.nz()) throw new AssertionError("fileDims " + v.fileShape() + " for " + v);
            if (v.volumeIndex() < 0 || v.volumeIndex() >= v.volumeCount()) throw new AssertionError("volume index " + v);
            v.valueRange();
            v.toString();
            for (Axis a : Axis.values()) v.displaySlice(a, v.size(a) / 2); // what predict/export-slice show
        }
    }
}
