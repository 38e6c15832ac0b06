// Renders /openapi.json; nothing is fetched from anywhere else (validatorUrl: null turns off
// the online validator badge).
window.ui = SwaggerUIBundle({
  url: "/openapi.json",
  dom_id: "#swagger-ui",
  deepLinking: true,
  validatorUrl: null,
  defaultModelsExpandDepth: 1,
  defaultModelExpandDepth: 3,
  tryItOutEnabled: false,
  layout: "BaseLayout",
});
