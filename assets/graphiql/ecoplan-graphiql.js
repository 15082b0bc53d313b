// Starts GraphiQL against this server's GraphQL endpoint. The endpoint is found relative
// to the page, so the page also works behind a proxy that serves ecoplan under a prefix.
// Sign in with the `login` mutation, then put the token in the Headers tab:
// {"Authorization": "Bearer <token>"}.
"use strict";
(function () {
  var endpoint = new URL("graphql", window.location.href).toString();
  var fetcher = GraphiQL.createFetcher({ url: endpoint });
  ReactDOM.createRoot(document.getElementById("graphiql")).render(
    React.createElement(GraphiQL, {
      fetcher: fetcher,
      defaultEditorToolsVisibility: true,
      isHeadersEditorEnabled: true,
    })
  );
})();
