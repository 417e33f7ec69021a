// Marks the page so a test can see a plugin's script ran.
document.body.dataset.hello = "loaded";
