package dev.segsam.cli.train;

import com.fasterxml.jackson.databind.JsonNode;
import dev.segsam.io.image.ImageFiles;
import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Font;
import java.awt.Stroke;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.jfree.chart.ChartUtils;
import org.jfree.chart.JFreeChart;
import org.jfree.chart.axis.NumberAxis;
import org.jfree.chart.title.LegendTitle;
import org.jfree.chart.plot.XYPlot;
import org.jfree.chart.renderer.xy.XYLineAndShapeRenderer;
import org.jfree.chart.title.TextTitle;
import org.jfree.chart.ui.RectangleEdge;
import org.jfree.data.xy.XYSeries;
import org.jfree.data.xy.XYSeriesCollection;

/**
 * {@code loss.png}: the training losses of a run (moving averages over the logged steps) against the step, one line
 * per loss component told apart by colour and dash pattern, and — when the run validated — the validation binary
 * DSC and mDSC on a second axis (0–1, right). Drawn with JFreeChart (Java2D); on a machine where Java2D cannot render
 * text (no fonts installed), the bitmap-font chart of {@link Plots} is written instead.
 */
public final class LossPlot {
    private LossPlot() {}

    /** The loss components train.json logs per step, and how the legend names them. */
    private static final String[][] LOSSES = {{"total", "total loss L"}, {"focal", "focal (L_bin)"}, {"dice", "Dice (L_bin)"},
        {"ce", "cross-entropy (L_sem)"}, {"sem_dice", "Dice (L_sem)"}, {"bce", "BCE (L_bce)"}, {"cons", "alignment (L_cons)"}};
    /** Colour-blind-safe (Okabe–Ito) colours, and dash patterns so that curves differ in grey print too. */
    private static final Color[] COLOURS = {new Color(0, 0, 0), new Color(230, 159, 0), new Color(0, 114, 178), new Color(213, 94, 0),
        new Color(0, 158, 115), new Color(204, 121, 167), new Color(86, 180, 233)};
    private static final float[][] DASHES = {null, {8, 4}, {2, 3}, {10, 3, 2, 3}, {5, 5}, {12, 4, 2, 4, 2, 4}, {1, 2}};

    /**
     * Writes the chart of {@code steps} (train.json's per-step records) and {@code evals} (its validation records, may be
     * null) to {@code file}.
     *
     * @param semantic whether the run had SEG-SAM's semantic losses (else only L_bin's terms are drawn)
     */
    public static void write(JsonNode steps, JsonNode evals, boolean semantic, Path file) throws IOException {
        byte[] png;
        try {
            png = render(steps, evals, semantic, 900, 520);
        } catch (RuntimeException | Error e) { // e.g. a headless JDK without fonts: keep the run's outputs, draw without Java2D text
            png = ImageFiles.png(Plots.lines("training loss", "step", fallbackSeries(steps, semantic), 900, 520), false);
        }
        Files.write(file, png);
    }

    /** The chart as PNG bytes. */
    static byte[] render(JsonNode steps, JsonNode evals, boolean semantic, int width, int height) throws IOException {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        ChartUtils.writeChartAsPNG(bytes, chart(steps, evals, semantic), width, height);
        return bytes.toByteArray();
    }

    /** The chart: losses on the left axis, validation scores (when any) on the right one, the legend below. */
    static JFreeChart chart(JsonNode steps, JsonNode evals, boolean semantic) {
        System.setProperty("java.awt.headless", "true");
        int n = steps.size(), win = Math.max(1, n / 50);
        XYSeriesCollection losses = new XYSeriesCollection();
        for (String[] k : LOSSES) {
            if (!semantic && !(k[0].equals("total") || k[0].equals("focal") || k[0].equals("dice"))) continue;
            XYSeries s = new XYSeries(k[1], false, true);
            double run = 0;
            int have = 0;
            boolean any = false;
            List<Double> window = new ArrayList<>();
            for (int i = 0; i < n; i++) {
                JsonNode r = steps.get(i);
                double v = r.path(k[0]).asDouble(Double.NaN);
                window.add(v);
                if (Double.isFinite(v)) {
                    run += v;
                    have++;
                }
                if (window.size() > win) {
                    double old = window.removeFirst();
                    if (Double.isFinite(old)) {
                        run -= old;
                        have--;
                    }
                }
                if (have > 0) {
                    s.add(r.path("step").asDouble(i + 1), run / have);
                    any |= run != 0;
                }
            }
            if (any || k[0].equals("total")) losses.addSeries(s);
        }
        NumberAxis x = new NumberAxis("step");
        x.setStandardTickUnits(NumberAxis.createIntegerTickUnits());
        x.setAutoRangeIncludesZero(false);
        double first = n == 0 ? 0 : steps.get(0).path("step").asDouble(1), last = n == 0 ? 0 : steps.get(n - 1).path("step").asDouble(n);
        if (last - first >= 10) x.setTickUnit(new org.jfree.chart.axis.NumberTickUnit(Math.max(1, niceStep(last - first, 10)))); // ≤ ~10 labelled steps
        NumberAxis y = new NumberAxis("loss (moving average over " + win + (win == 1 ? " step)" : " steps)"));
        y.setAutoRangeIncludesZero(true);
        double top = 0;
        for (int i = 0; i < losses.getSeriesCount(); i++) top = Math.max(top, losses.getSeries(i).getMaxY());
        if (top > 0 && Double.isFinite(top)) y.setTickUnit(new org.jfree.chart.axis.NumberTickUnit(niceStep(top * 1.05, 8))); // ≤ ~8 labelled ticks
        XYLineAndShapeRenderer lines = new XYLineAndShapeRenderer(true, false);
        for (int i = 0; i < losses.getSeriesCount(); i++) {
            lines.setSeriesPaint(i, COLOURS[i % COLOURS.length]);
            lines.setSeriesStroke(i, stroke(i == 0 ? 2.4f : 1.8f, DASHES[i % DASHES.length]));
        }
        XYPlot plot = new XYPlot(losses, x, y, lines);
        plot.setBackgroundPaint(Color.WHITE);
        plot.setDomainGridlinePaint(new Color(215, 215, 215));
        plot.setRangeGridlinePaint(new Color(215, 215, 215));
        if (evals != null && !evals.isEmpty()) {
            XYSeriesCollection val = new XYSeriesCollection();
            XYSeries dsc = new XYSeries("validation binary DSC (right axis)"), mdsc = new XYSeries("validation mDSC (right axis)");
            for (JsonNode e : evals) {
                if (e.path("dsc").isNumber()) dsc.add(e.path("step").asDouble(), e.get("dsc").asDouble());
                if (e.path("mdsc").isNumber()) mdsc.add(e.path("step").asDouble(), e.get("mdsc").asDouble());
            }
            if (dsc.getItemCount() > 0) val.addSeries(dsc);
            if (mdsc.getItemCount() > 0) val.addSeries(mdsc);
            if (val.getSeriesCount() > 0) {
                NumberAxis right = new NumberAxis("validation score");
                right.setRange(0, 1);
                right.setTickUnit(new org.jfree.chart.axis.NumberTickUnit(0.1));
                plot.setRangeAxis(1, right);
                plot.setDataset(1, val);
                plot.mapDatasetToRangeAxis(1, 1);
                XYLineAndShapeRenderer marks = new XYLineAndShapeRenderer(true, true);
                Color[] vc = {new Color(120, 120, 120), new Color(150, 0, 90)};
                java.awt.Shape[] shapes = {new java.awt.geom.Rectangle2D.Double(-5, -5, 10, 10), new java.awt.geom.Ellipse2D.Double(-5.5, -5.5, 11, 11)};
                for (int i = 0; i < val.getSeriesCount(); i++) {
                    marks.setSeriesPaint(i, vc[i]);
                    marks.setSeriesStroke(i, stroke(1.4f, new float[] {3, 3}));
                    marks.setSeriesShape(i, shapes[i]); // large marks: a run validates only a few times
                }
                plot.setRenderer(1, marks);
                plot.setDatasetRenderingOrder(org.jfree.chart.plot.DatasetRenderingOrder.FORWARD); // validation on top of the losses
            }
        }
        JFreeChart chart = new JFreeChart(null, JFreeChart.DEFAULT_TITLE_FONT, plot, true);
        chart.setTitle(new TextTitle("training losses over " + n + " steps", new Font(Font.SANS_SERIF, Font.BOLD, 15)));
        chart.setBackgroundPaint(Color.WHITE);
        LegendTitle legend = chart.getLegend();
        legend.setPosition(RectangleEdge.BOTTOM);
        legend.setItemFont(new Font(Font.SANS_SERIF, Font.PLAIN, 12));
        return chart;
    }

    /** The smallest 1, 2 or 5 × 10^k step that divides [0, span] into at most {@code most} intervals. */
    static double niceStep(double span, int most) {
        double raw = span / most, p = Math.pow(10, Math.floor(Math.log10(raw)));
        for (double m : new double[] {1, 2, 5, 10}) if (m * p >= raw) return m * p;
        return 10 * p;
    }

    private static Stroke stroke(float width, float[] dash) {
        return dash == null ? new BasicStroke(width, BasicStroke.CAP_ROUND, BasicStroke.JOIN_ROUND)
                : new BasicStroke(width, BasicStroke.CAP_BUTT, BasicStroke.JOIN_ROUND, 10f, dash, 0f);
    }

    private static List<Plots.Series> fallbackSeries(JsonNode steps, boolean semantic) {
        List<Plots.Series> out = new ArrayList<>();
        int n = steps.size(), win = Math.max(1, n / 50);
        for (String[] k : LOSSES) {
            if (!semantic && !(k[0].equals("total") || k[0].equals("dice"))) continue;
            double[] y = new double[n];
            double run = 0;
            for (int i = 0; i < n; i++) {
                run += steps.get(i).path(k[0]).asDouble(0);
                if (i >= win) run -= steps.get(i - win).path(k[0]).asDouble(0);
                y[i] = run / Math.min(i + 1, win);
            }
            out.add(new Plots.Series(k[0].replace('_', ' '), y));
        }
        return out;
    }
}
