import XCTest
@testable import Transformer

final class TransformerTestsSmoke: XCTestCase {
    func testModuleLinks() { XCTAssertTrue(true) }
}
