import XCTest
@testable import PagedKV

final class PagedKVTestsSmoke: XCTestCase {
    func testModuleLinks() { XCTAssertTrue(true) }
}
