from bbtraining import create_app

app = create_app()
