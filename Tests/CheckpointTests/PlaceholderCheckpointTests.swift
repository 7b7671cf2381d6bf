import XCTest
@testable import Checkpoint

final class CheckpointTestsSmoke: XCTestCase {
    func testModuleLinks() { XCTAssertTrue(true) }
}
