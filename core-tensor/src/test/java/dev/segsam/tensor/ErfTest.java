package dev.segsam.tensor;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** Erf/erfc/GELU against CPython's math.erf/math.erfc (libm), values printed by python3 and pasted here. */
class ErfTest {
    @ParameterizedTest(name = "erf({0})")
    @CsvSource({
        "0.1, 0.1124629160182849, 0.8875370839817152",
        "0.5, 0.5204998778130465, 0.4795001221869535",
        "1.0, 0.8427007929497149, 0.15729920705028513",
        "1.9999, 0.9953201979070294, 0.004679802092970608",
        "2.0, 0.9953222650189527, 0.004677734981047265",
        "2.5, 0.999593047982555, 0.0004069520174449589",
        "3.0, 0.9999779095030014, 2.2090496998585438e-05",
        "4.5, 0.9999999998033839, 1.9661604415428873e-10",
        "-0.7, -0.6778011938374184, 1.6778011938374184",
        "-2.2, -0.9981371537020182, 1.998137153702018",
    })
    void erfAndErfc(double z, double erf, double erfc) {
        assertEquals(erf, Erf.erf(z), 1e-14 * Math.abs(erf) + 1e-300);
        assertEquals(erfc, Erf.erfc(z), 1e-13 * Math.abs(erfc)); // relative: erfc is tiny for large z
    }

    @ParameterizedTest(name = "gelu({0})")
    @CsvSource({
        "1.0, 0.8413447460685429",
        "-1.0, -0.15865525393145707",
        "-3.0, -0.004049694094890287",
        "-6.0, -5.919525870226207e-09",
        "3.0, 2.99595030590511",
    })
    void gelu(double x, double expected) {
        assertEquals(expected, Erf.gelu(x), 1e-13 * Math.abs(expected));
    }
}
