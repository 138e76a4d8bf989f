package dev.segsam.cli.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import java.awt.Color;
import java.awt.image.BufferedImage;
import java.io.ByteArrayInputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Random;
import java.util.Set;
import javax.imageio.ImageIO;
import org.jfree.chart.JFreeChart;
import org.jfree.chart.LegendItem;
import org.jfree.chart.axis.NumberAxis;
import org.jfree.chart.plot.XYPlot;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** loss.png is readable: labelled axes, a sensible number of ticks, one legend entry per curve, curves told apart. */
class LossPlotTest {
    static final ObjectMapper JSON = new ObjectMapper();
    static final String[] KEYS = {"total", "focal", "dice", "ce", "sem_dice", "bce", "cons"};

    @TempDir
    Path dir;

    /** train.json-like step records: noisy decaying losses (each component its own scale), evals every 100 steps. */
    static ArrayNode steps(int n, boolean semantic) {
        ArrayNode a = JSON.createArrayNode();
        Random r = new Random(7);
        for (int s = 1; s <= n; s++) {
            var o = a.addObject().put("step", s);
            double sum = 0;
            for (int k = 1; k < KEYS.length; k++) {
                double v = semantic || k <= 2 ? (0.1 * k) * Math.exp(-s / (150.0 * k)) * (1 + 0.2 * r.nextGaussian()) + 0.01 * k : 0;
                o.put(KEYS[k], v);
                sum += v;
            }
            o.put("total", sum);
        }
        return a;
    }

    static ArrayNode evals(int n, boolean semantic) {
        ArrayNode a = JSON.createArrayNode();
        for (int s = 100; s <= n; s += 100) {
            var e = a.addObject().put("step", s).put("dsc", 1 - 50.0 / (s + 50));
            if (semantic) e.put("mdsc", 0.5 - 20.0 / (s + 40));
            else e.putNull("mdsc");
        }
        return a;
    }

    @Test
    void everyCurveHasItsOwnLegendEntryAndLookAndTheAxesAreLabelled() throws Exception {
        JFreeChart c = LossPlot.chart(steps(600, true), evals(600, true), true);
        XYPlot p = c.getXYPlot();
        assertEquals("step", p.getDomainAxis().getLabel());
        assertTrue(p.getRangeAxis().getLabel().startsWith("loss"), p.getRangeAxis().getLabel());
        assertEquals("validation score", p.getRangeAxis(1).getLabel());
        List<String> labels = new ArrayList<>();
        Set<String> looks = new HashSet<>();
        for (LegendItem it : items(p)) {
            labels.add(it.getLabel());
            assertTrue(looks.add(it.getLinePaint() + "/" + it.getLineStroke()), "two curves look alike: " + it.getLabel());
        }
        assertEquals(List.of("total loss L", "focal (L_bin)", "Dice (L_bin)", "cross-entropy (L_sem)", "Dice (L_sem)", "BCE (L_bce)",
                "alignment (L_cons)", "validation binary DSC (right axis)", "validation mDSC (right axis)"), labels);
        // the series behind the legend: one per entry, each with the run's points
        assertEquals(7, p.getDataset(0).getSeriesCount());
        assertEquals(600, p.getDataset(0).getItemCount(0));
        assertEquals(6, p.getDataset(1).getItemCount(0));
        // drawn: the ticks the axes chose are a readable count (not one, not a smear)
        BufferedImage img = c.createBufferedImage(900, 520);
        for (NumberAxis a : List.of((NumberAxis) p.getDomainAxis(), (NumberAxis) p.getRangeAxis(), (NumberAxis) p.getRangeAxis(1))) {
            double ticks = a.getRange().getLength() / a.getTickUnit().getSize();
            assertTrue(ticks >= 3 && ticks <= 15, a.getLabel() + ": " + ticks + " tick intervals");
        }
        assertEquals(900, img.getWidth());
    }

    @Test
    void anEncoderRunDrawsOnlyItsBinaryTermsAndThePngHasEveryCurveColour() throws Exception {
        JFreeChart c = LossPlot.chart(steps(300, false), evals(300, false), false);
        List<String> labels = new ArrayList<>();
        for (LegendItem it : items(c.getXYPlot())) labels.add(it.getLabel());
        assertEquals(List.of("total loss L", "focal (L_bin)", "Dice (L_bin)", "validation binary DSC (right axis)"), labels);

        Path f = dir.resolve("loss.png");
        LossPlot.write(steps(300, true), evals(300, true), true, f);
        BufferedImage img = ImageIO.read(new ByteArrayInputStream(Files.readAllBytes(f)));
        assertEquals(900, img.getWidth());
        assertEquals(520, img.getHeight());
        for (LegendItem it : items(LossPlot.chart(steps(300, true), evals(300, true), true).getXYPlot())) {
            Color want = (Color) it.getLinePaint();
            assertTrue(count(img, want) > 20, it.getLabel() + ": its colour " + want + " is hardly drawn");
        }
    }

    @Test
    void aRunOfFiveHundredStepsWithOneValidationHasFewStepTicksAndAVisibleValidationMark() throws Exception {
        ArrayNode one = JSON.createArrayNode();
        one.addObject().put("step", 250).put("dsc", 0.3).putNull("mdsc"); // as the ablation's runs validate: once before the end
        JFreeChart c = LossPlot.chart(steps(500, false), one, false);
        NumberAxis x = (NumberAxis) c.getXYPlot().getDomainAxis();
        c.createBufferedImage(900, 520);
        double ticks = x.getRange().getLength() / x.getTickUnit().getSize();
        assertTrue(ticks >= 3 && ticks <= 12, ticks + " step tick intervals");
        Path f = dir.resolve("one.png");
        LossPlot.write(steps(500, false), one, false, f);
        BufferedImage img = ImageIO.read(new ByteArrayInputStream(Files.readAllBytes(f)));
        LegendItem val = items(c.getXYPlot()).getLast();
        assertEquals("validation binary DSC (right axis)", val.getLabel());
        // the mark (10 x 10 px) and its legend sample: far more than the legend's sample alone
        assertTrue(count(img, (Color) val.getLinePaint()) > 60, "the single validation mark is hidden: " + count(img, (Color) val.getLinePaint()));
    }

    static List<LegendItem> items(XYPlot p) {
        List<LegendItem> out = new ArrayList<>();
        for (int i = 0; i < p.getLegendItems().getItemCount(); i++) out.add(p.getLegendItems().get(i));
        return out;
    }

    /** Pixels within a small distance of {@code c} (anti-aliased edges aside). */
    static int count(BufferedImage img, Color c) {
        int n = 0;
        for (int y = 0; y < img.getHeight(); y++) {
            for (int x = 0; x < img.getWidth(); x++) {
                int p = img.getRGB(x, y), dr = (p >> 16 & 255) - c.getRed(), dg = (p >> 8 & 255) - c.getGreen(), db = (p & 255) - c.getBlue();
                if (dr * dr + dg * dg + db * db < 300) n++;
            }
        }
        return n;
    }
}
