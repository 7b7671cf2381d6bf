import XCTest
@testable import Tokenizer

final class TokenizerTestsSmoke: XCTestCase {
    func testModuleLinks() { XCTAssertTrue(true) }
}
