import XCTest
@testable import SPRM

final class SPRMTestsSmoke: XCTestCase {
    func testModuleLinks() { XCTAssertTrue(true) }
}
