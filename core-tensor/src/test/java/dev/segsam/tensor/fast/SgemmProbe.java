package dev.segsam.tensor.fast;

/**
 * Run in a child JVM by {@link SgemmTest}: prints what {@link Sgemm} reports in that JVM, which CPU backend the JVM's
 * {@code -Dsegsam.*} properties select, and whether a call works.
 */
public final class SgemmProbe {
    private SgemmProbe() {}

    public static void main(String[] args) {
        String gemm;
        try {
            float[] c = new float[1];
            Sgemm.matmul(dev.segsam.tensor.Parallel.SEQUENTIAL, 1, 1, 1, new float[] {2}, new float[] {3}, c);
            gemm = c[0] == 6 ? "ok" : "wrong " + c[0];
        } catch (RuntimeException e) {
            gemm = e.getClass().getSimpleName();
        }
        String backend = dev.segsam.tensor.Backends.cpu(dev.segsam.tensor.Options.fromSystemProperties()).name();
        System.out.println("available=" + Sgemm.available() + " backend=" + backend + " gemm=" + gemm);
    }
}
