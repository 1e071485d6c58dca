// Starts Swagger UI on /docs. A served file, not an inline script, so the page keeps the CSP.
window.addEventListener("load", function () {
  window.ui = SwaggerUIBundle({
    url: "/openapi.json",
    dom_id: "#swagger-ui",
    layout: "BaseLayout",
    deepLinking: true,
    showExtensions: true,
    showCommonExtensions: true,
    validatorUrl: null, // the default sends the description to validator.swagger.io
    presets: [SwaggerUIBundle.presets.apis],
  });
});
