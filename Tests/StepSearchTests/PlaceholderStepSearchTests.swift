import XCTest
@testable import StepSearch

final class StepSearchTestsSmoke: XCTestCase {
    func testModuleLinks() { XCTAssertTrue(true) }
}
