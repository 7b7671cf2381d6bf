import XCTest
@testable import Sprig

final class SprigTestsSmoke: XCTestCase {
    func testModuleLinks() { XCTAssertTrue(true) }
}
