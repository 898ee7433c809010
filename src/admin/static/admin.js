/* global window, document, fetch, URLSearchParams */
/*
 * Flagward admin IDE: mounts GraphiQL (served from node_modules, loaded before this file as
 * the React, ReactDOM and GraphiQL globals) on #graphiql. Queries go to /graphql with the
 * session cookie of this origin. `?query=` and `?variables=` open the editor with that text,
 * and editing keeps them in the address bar, so a link can share a query.
 */
(function () {
  'use strict';

  var root = document.getElementById('graphiql');
  if (!root || !window.React || !window.ReactDOM || !window.GraphiQL) {
    if (root) root.textContent = 'The GraphQL IDE could not be loaded.';
    return;
  }

  /** Headers typed into the IDE's headers editor, as an object of strings. */
  function extraHeaders(headers) {
    var out = {};
    if (!headers || typeof headers !== 'object') return out;
    Object.keys(headers).forEach(function (name) {
      var value = headers[name];
      if (value !== undefined && value !== null) out[name] = String(value);
    });
    return out;
  }

  function fetcher(params, options) {
    var headers = Object.assign(extraHeaders(options && options.headers), {
      'content-type': 'application/json',
      accept: 'application/json',
    });
    return fetch('/graphql', {
      method: 'POST',
      credentials: 'same-origin',
      headers: headers,
      body: JSON.stringify(params),
    }).then(function (res) {
      return res.text().then(function (text) {
        try {
          return JSON.parse(text);
        } catch {
          return { errors: [{ message: 'HTTP ' + res.status + ': ' + text.slice(0, 500) }] };
        }
      });
    });
  }

  var params = new URLSearchParams(window.location.search);

  function remember(name, value) {
    var next = new URLSearchParams(window.location.search);
    if (value) next.set(name, value);
    else next.delete(name);
    var search = next.toString();
    window.history.replaceState(
      null,
      '',
      window.location.pathname + (search ? '?' + search : '') + window.location.hash,
    );
  }

  var props = {
    fetcher: fetcher,
    defaultEditorToolsVisibility: true,
    defaultQuery:
      '# Welcome to the Flagward GraphQL IDE.\n# Staff status opens this page; what a query may read or change\n# is decided by your permissions, as for any API call.\n\nquery {\n  me {\n    email\n  }\n}\n',
    onEditQuery: function (value) {
      remember('query', value);
    },
    onEditVariables: function (value) {
      remember('variables', value);
    },
  };
  if (params.has('query')) props.query = params.get('query');
  if (params.has('variables')) props.variables = params.get('variables');

  root.textContent = '';
  window.ReactDOM.createRoot(root).render(window.React.createElement(window.GraphiQL, props));
})();
