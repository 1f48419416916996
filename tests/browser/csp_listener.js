// Injected by the test driver (not by the page, so the policy allows it): report every
// Content-Security-Policy violation as a console error, which tests/browser/conftest.py fails on.
document.addEventListener("securitypolicyviolation", (event) => {
  console.error(
    `CSP violation: ${event.violatedDirective} blocked ${event.blockedURI || "inline"} ` +
      `at ${event.sourceFile || document.location.href}:${event.lineNumber}`
  );
});
