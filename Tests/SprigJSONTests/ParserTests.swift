import XCTest
import SprigJSON

/// Parses `text`'s UTF-8 bytes.
private func parse(_ text: String, maxDepth: Int = 64) throws(JSONError) -> JSON {
    try parse(Array(text.utf8), maxDepth: maxDepth)
}

private func parse(_ bytes: [UInt8], maxDepth: Int = 64) throws(JSONError) -> JSON {
    let result: Result<JSON, JSONError> = bytes.withUnsafeBytes { raw in
        do throws(JSONError) { return .success(try JSON.parse(raw, maxDepth: maxDepth)) } catch { return .failure(error) }
    }
    return try result.get()
}

/// The error parsing `bytes` gives, or nil when it parses.
private func failure(_ bytes: [UInt8], maxDepth: Int = 64) -> JSONError? {
    do { _ = try parse(bytes, maxDepth: maxDepth); return nil } catch { return error }
}

private func failure(_ text: String, maxDepth: Int = 64) -> JSONError? { failure(Array(text.utf8), maxDepth: maxDepth) }

/// Asserts each (text, offset, reason): parsing text fails at that byte for that reason.
private func assertFailures(_ cases: [(String, Int, String)], line: UInt = #line) {
    for (text, offset, reason) in cases {
        XCTAssertEqual(failure(text), JSONError(offset: offset, reason: reason), text.debugDescription, line: line)
    }
}

final class ParserTests: XCTestCase {
    func testValuesOrderAndAccessors() throws {
        let v = try parse(" {\"b\":[true,false,null],\"a\":\"x\",\"a\":2,\"e\":{}} \n")
        XCTAssertEqual(v.object?.map(\.key), ["b", "a", "a", "e"])  // file order, duplicates kept
        XCTAssertEqual(v["a"], .string("x"))  // first match
        XCTAssertEqual(v["b"]?.array, [.bool(true), .bool(false), .null])
        XCTAssertEqual(v["b"]?.array?.first?.bool, true)
        XCTAssertEqual(v["b"]?.array?.last?.isNull, true)
        XCTAssertEqual(v["e"]?.object?.count, 0)
        XCTAssertNil(v["missing"])
        XCTAssertNil(JSON.string("s")["a"])
        XCTAssertNil(v["a"]?.int)
        XCTAssertEqual(try parse("[]"), .array([]))
    }

    func testEscapes() throws {
        let v = try parse(#""q\" b\\ s\/ \b\f\n\r\t \u0041\u00e9\u20AC \ud83d\ude00 \u0000""#)
        XCTAssertEqual(v.string, "q\" b\\ s/ \u{8}\u{C}\n\r\t Aé€ 😀 \u{0}")
        // Escapes mixed with raw multi-byte text on the slow path.
        XCTAssertEqual(try parse(#""Ġa\nä😀""#).string, "Ġa\nä😀")
        XCTAssertEqual(try parse(#"{"a\"b\u00e9\ud83d\ude00":1}"#).object?.first?.key, "a\"bé😀")
    }

    func testBadEscapesAndSurrogates() {
        // offset: the byte where the bad escape starts (0 is the opening quote).
        let cases: [(String, Int, String)] = [
            (#""ab\x""#, 3, "bad escape"),
            (#""\u12G4""#, 5, #"bad \u escape"#),
            (#""\u12""#, 3, #"short \u escape"#),
            (#""a\ud83d""#, 2, "high surrogate escape without a low one"),
            (#""a\ud83dx""#, 2, "high surrogate escape without a low one"),
            (#""a\ud83d\u0041""#, 2, "high surrogate escape without a low one"),
            (#""a\ud83d\ud83d""#, 2, "high surrogate escape without a low one"),
            (#""a\ude00""#, 2, "low surrogate escape without a high one"),
        ]
        assertFailures(cases)
    }

    func testStringErrors() {
        assertFailures([
            ("\"a\nb\"", 2, "control character in string"), ("\"a\\n\u{1}\"", 4, "control character in string"),
            ("\"abc", 4, "unterminated string"), ("\"a\\", 3, "unterminated string"),
            ("{\"a\" 1}", 5, "expected ':'"), ("{1:2}", 1, "expected a key"),
        ])
    }

    func testInvalidUTF8IsRejectedAtTheBadByte() {
        let q = UInt8(ascii: "\""), a = UInt8(ascii: "a")
        let bad: [[UInt8]] = [
            [0x80],              // lone continuation byte
            [0xC0, 0x80],        // overlong NUL
            [0xE0, 0x80, 0x80],  // overlong 3-byte
            [0xED, 0xA0, 0x80],  // encoded surrogate U+D800
            [0xF4, 0x90, 0x80, 0x80],  // past U+10FFFF
            [0xF5, 0x80, 0x80, 0x80],
            [0xE2, 0x82],        // truncated € before the closing quote
            [0xFF],
        ]
        for seq in bad {
            XCTAssertEqual(failure([q, a] + seq + [q]), JSONError(offset: 2, reason: "invalid UTF-8 in string"), "\(seq)")
            // After an escape (copying path) the offset is still the bad byte's.
            XCTAssertEqual(failure([q, 0x5C, 0x6E] + seq + [q]), JSONError(offset: 3, reason: "invalid UTF-8 in string"), "\(seq)")
            XCTAssertEqual(failure([q, a] + seq), JSONError(offset: 2, reason: "invalid UTF-8 in string"), "\(seq)")
        }
        XCTAssertEqual(failure([0xE2, 0x82]), JSONError(offset: 0, reason: "unexpected character"))
    }

    /// Every 1-3 byte string over lead/continuation bytes at the edges of the UTF-8 tables is
    /// accepted exactly when Swift's validating decoder accepts it, and decodes the same.
    func testUTF8MatchesSwiftValidation() throws {
        let pool: [UInt8] = [0x61, 0x7F, 0x80, 0x8F, 0x90, 0x9F, 0xA0, 0xBF, 0xC0, 0xC1, 0xC2, 0xDF,
                             0xE0, 0xE1, 0xEC, 0xED, 0xEE, 0xEF, 0xF0, 0xF1, 0xF3, 0xF4, 0xF5, 0xFF]
        var bodies: [[UInt8]] = pool.map { [$0] }
        for a in pool { for b in pool { bodies.append([a, b]); for c in pool { bodies.append([a, b, c]) } } }
        var accepted = 0
        for body in bodies {
            let reference = String(validating: body, as: UTF8.self)
            for escaped in [false, true] {
                let bytes = [UInt8(ascii: "\"")] + (escaped ? [0x5C, 0x74] : []) + body + [UInt8(ascii: "\"")]
                XCTAssertEqual(try? parse(bytes).string, reference.map { (escaped ? "\t" : "") + $0 }, "\(body)")
            }
            if reference != nil { accepted += 1 }
        }
        XCTAssertGreaterThan(accepted, 200)  // both outcomes were exercised (254 valid)
        XCTAssertLessThan(accepted, bodies.count - 500)
    }

    func testNumbers() throws {
        let exact: [(String, Double)] = [
            ("0", 0), ("-0", -0.0), ("7", 7), ("-12", -12), ("1.5e2", 150), ("-0.25", -0.25), ("1E+2", 100),
            ("2.5e-3", 0.0025), ("9007199254740991", 9_007_199_254_740_991), ("-9007199254740991", -9_007_199_254_740_991),
            ("123456789012345678", 1.2345678901234568e17), ("12345678901234567890123", 1.2345678901234568e22),
            ("0.1", 0.1), ("1e-400", 0),
        ]
        for (text, value) in exact {
            let d = try XCTUnwrap(parse(text).number, text)
            XCTAssertEqual(d, value, text)
            XCTAssertEqual(d, Double(text), text)  // Swift's correctly rounded conversion
            XCTAssertEqual(d.sign, value.sign, text)
        }
        XCTAssertEqual(try parse("9007199254740991").int, 9_007_199_254_740_991)
        XCTAssertEqual(try parse("-9007199254740991").int, -9_007_199_254_740_991)
        XCTAssertEqual(try parse("1.5e2").int, 150)
        XCTAssertNil(try parse("9007199254740992").int)  // 2^53: 9007199254740993 parses to it too
        XCTAssertNil(try parse("9007199254740993").int)
        XCTAssertNil(try parse("1.5").int)
        XCTAssertNil(try parse("\"1\"").int)

        let bad: [(String, Int, String)] = [
            ("-", 1, "expected a digit"), ("-a", 1, "expected a digit"), ("1.", 2, "expected a digit after '.'"),
            ("1.e5", 2, "expected a digit after '.'"), ("1e", 2, "expected a digit in the exponent"),
            ("1e+", 3, "expected a digit in the exponent"), ("01", 1, "trailing characters after the value"),
            ("[01]", 2, "expected ',' or ']'"), (".5", 0, "unexpected character"), ("+1", 0, "unexpected character"),
            ("--1", 1, "expected a digit"), ("NaN", 0, "unexpected character"), ("Infinity", 0, "unexpected character"),
            ("0x10", 1, "trailing characters after the value"), ("1e400", 0, "number out of range"),
            ("[1,-1e999]", 3, "number out of range"),
        ]
        assertFailures(bad)
    }

    /// Decimals near the edges (2^53, 18/19 digits, subnormals, overflow) agree with
    /// Double(String) bit for bit, or are rejected exactly where it gives infinity.
    func testNumbersMatchSwift() throws {
        let mantissas = ["1", "9", "123456789", "9007199254740993", "4503599627370497", "17976931348623157",
                         "999999999999999999", "1000000000000000000001", "2225073858507201"]
        var checked = 0
        for sign in ["", "-"] {
            for m in mantissas {
                for fraction in ["", ".5", ".0000001", ".999999999999999999"] {
                    for exponent in ["", "e0", "E+1", "e-5", "e22", "e23", "e-308", "e-325", "e290", "e310"] {
                        let text = sign + m + fraction + exponent
                        let reference = try XCTUnwrap(Double(text))
                        if reference.isFinite {
                            XCTAssertEqual(try parse(text).number?.bitPattern, reference.bitPattern, text)
                            checked += 1
                        } else {
                            XCTAssertEqual(failure(text), JSONError(offset: 0, reason: "number out of range"), text)
                        }
                    }
                }
            }
        }
        XCTAssertGreaterThan(checked, 500)
    }

    func testDepthLimit() throws {
        let ok = String(repeating: "[", count: 64) + "1" + String(repeating: "]", count: 64)
        XCTAssertNotNil(try parse(ok).array)
        let deep = String(repeating: "[", count: 65) + String(repeating: "]", count: 65)
        XCTAssertEqual(failure(deep), JSONError(offset: 64, reason: "nesting deeper than 64"))
        XCTAssertEqual(failure(#"{"a":{"b":[]}}"#, maxDepth: 2), JSONError(offset: 10, reason: "nesting deeper than 2"))
        XCTAssertNotNil(try parse(#"{"a":{"b":1}}"#, maxDepth: 2)["a"])
        XCTAssertEqual(try parse("3", maxDepth: 0), .number(3))
        // Far past the limit: an error, not a stack overflow.
        XCTAssertNotNil(failure(String(repeating: "[{\"a\":", count: 200_000)))
    }

    func testTrailingGarbageAndTruncation() {
        assertFailures([
            ("{} x", 3, "trailing characters after the value"), ("1 2", 2, "trailing characters after the value"),
            ("[1,2]]", 5, "trailing characters after the value"), ("", 0, "unexpected end of input"),
            ("   ", 3, "unexpected end of input"), ("[1,", 3, "unexpected end of input"), ("[1,]", 3, "unexpected character"),
            ("[1 2]", 3, "expected ',' or ']'"), ("{\"a\":1", 6, "unexpected end of input"),
            ("tru", 0, "unexpected end of input"), ("trUe", 0, "unexpected character"), ("nul", 0, "unexpected end of input"),
            ("\u{FEFF}{}", 0, "unexpected character"),
        ])
    }

    /// Every prefix and every single-byte substitution of a document parses or throws, never traps;
    /// the error offset always lies inside the input.
    func testMutationsNeverTrap() throws {
        let doc = Array(#"{"k":[1,-2.5e3,"a\u00e9\ud83d\ude00\n",true,null,{"x":[]}],"Ġ€":false}"#.utf8)
        XCTAssertNotNil(try parse(doc).object)
        var failures = 0
        for n in 0..<doc.count {
            if let e = failure(Array(doc[..<n])) { failures += 1; XCTAssertLessThanOrEqual(e.offset, n) }
        }
        XCTAssertEqual(failures, doc.count)  // no proper prefix of an object is a document
        for i in doc.indices {
            for byte in UInt8.min...UInt8.max {
                var m = doc
                m[i] = byte
                if let e = failure(m) { XCTAssertLessThanOrEqual(e.offset, m.count) }
            }
        }
    }

    func testErrorDescriptionIsOneLine() {
        let e = JSONError(offset: 12, reason: "expected ':'")
        XCTAssertEqual(e.description, "invalid JSON at byte 12: expected ':'")
    }
}
